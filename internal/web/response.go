package web

func (s *Server) responseRoutes() []Route { return nil }
