package config

// Monitors: probes and heartbeats, maintenance windows and probe settings.

// Monitor checks one thing on a schedule, or waits for its pings.
type Monitor struct {
	Node
	ID      string `yaml:"id"`
	Service string `yaml:"service"`
}

// Maintenance is a window during which monitors record but do not page.
type Maintenance struct {
	Node
	ID string `yaml:"id"`
}

// Probes holds settings of the probe scheduler and result history.
type Probes struct {
	Node
}

func (c *Config) validateMonitors(errs *Errors) {}
