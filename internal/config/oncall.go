package config

// Users, teams, schedules, escalation policies and notification channels.

// User is a person who can be paged.
type User struct {
	Node
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Team groups users and owns services.
type Team struct {
	Node
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Schedule says who is on call when.
type Schedule struct {
	Node
	ID string `yaml:"id"`
}

// EscalationPolicy says whom to page, in which order, when nobody acknowledges.
type EscalationPolicy struct {
	Node
	ID string `yaml:"id"`
}

// Notifications configures the channels pages go out through.
type Notifications struct {
	Node
}

// WorkingHours bound when low-urgency work may notify someone.
type WorkingHours struct {
	Node
}

func (c *Config) validateOnCall(errs *Errors) {}
