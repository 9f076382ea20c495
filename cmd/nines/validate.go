package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nines-dev/nines/internal/config"
)

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	cfgPath := fs.String("config", envOr("NINES_CONFIG", "nines.yaml"), "config file or directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
		fmt.Fprintf(stderr, "%d error(s)\n", len(errs))
		return exitError{1}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d services, %d files)\n", *cfgPath, len(cfg.Services), len(cfg.Files))
	return nil
}
