package config

// Public status pages.

// StatusPage is a public page showing the state of some services.
type StatusPage struct {
	Node
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
}

func (c *Config) validateStatusPages(errs *Errors) {}
