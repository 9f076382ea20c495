package config

// Incident response settings: severities, roles, business days.

// IncidentSettings tunes incident response.
type IncidentSettings struct {
	Node
}

func (c *Config) validateIncidents(errs *Errors) {}
