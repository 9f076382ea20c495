package web

func (s *Server) sloRoutes() []Route { return nil }
