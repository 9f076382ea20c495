package web

func (s *Server) statuspageRoutes() []Route { return nil }
