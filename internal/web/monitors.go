package web

func (s *Server) monitorsRoutes() []Route { return nil }
