//go:build !unix

package config

import "os"

func openNonBlocking(name string) (*os.File, error) { return os.Open(name) }
