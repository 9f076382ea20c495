package config

import "go.yaml.in/yaml/v3"

// SLOs in nines' own form and as OpenSLO v1 documents.

// SLO is a service level objective.
type SLO struct {
	Node
	ID      string `yaml:"id"`
	Service string `yaml:"service"`
}

// OpenSLODocument is one OpenSLO v1 document.
type OpenSLODocument struct {
	Node
	Kind string
}

func parseOpenSLO(file string, n *yaml.Node, errs *Errors) OpenSLODocument {
	return OpenSLODocument{Node: Node{Pos: Pos{File: file, Line: n.Line, Col: n.Column}}}
}

func (c *Config) validateSLOs(errs *Errors) {}
