package web

func (s *Server) oncallRoutes() []Route { return nil }
