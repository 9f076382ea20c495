package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/slo"
)

// runSLO: `nines slo export` works offline from the config; `nines slo status` asks a server.
func runSLO(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: nines slo export --format prometheus [--config nines.yaml] [--output FILE]\n       nines slo status [--service S] [SLO-ID]")
	}
	switch args[0] {
	case "export":
		return sloExport(args[1:], stdout, stderr)
	case "status":
		return sloStatus(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown slo command %q (want export or status)", args[0])
}

func sloExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("slo export", stderr)
	cfgPath := fs.String("config", envOr("NINES_CONFIG", "nines.yaml"), "config file or directory (env NINES_CONFIG)")
	format := fs.String("format", "prometheus", "output format: prometheus (recording and alerting rules)")
	output := fs.String("output", "-", "file to write, - for standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format != "prometheus" {
		return fmt.Errorf("--format %q: nines exports prometheus rules", *format)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fmt.Errorf("config is invalid:\n%w", err)
	}
	defs := make([]*slo.Definition, 0, len(cfg.SLOs))
	for i := range cfg.SLOs {
		defs = append(defs, slo.FromConfig(&cfg.SLOs[i]))
	}
	rules := slo.PrometheusRules(defs)
	if *output == "-" {
		_, err := io.WriteString(stdout, rules)
		return err
	}
	return os.WriteFile(*output, []byte(rules), 0o644)
}

func sloStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("slo status", stderr)
	var c client
	c.register(fs)
	service := fs.String("service", "", "only this service's SLOs")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	var sts []slo.Status
	if fs.NArg() == 1 {
		var st slo.Status
		if err := c.do(ctx, "GET", "/api/v1/slos/"+url.PathEscape(fs.Arg(0)), nil, &st); err != nil {
			return err
		}
		sts = append(sts, st)
	} else {
		var out struct {
			SLOs []slo.Status `json:"slos"`
		}
		q := ""
		if *service != "" {
			q = "?service=" + url.QueryEscape(*service)
		}
		if err := c.do(ctx, "GET", "/api/v1/slos"+q, nil, &out); err != nil {
			return err
		}
		sts = out.SLOs
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sts)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLO\tSERVICE\tOBJECTIVE\tWINDOW\tSLI\tBUDGET LEFT\tBURN 1h\tBURN 6h")
	for _, s := range sts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\n", s.ID, s.ServiceID, pctString(s.Objective), s.Window,
			pctString(s.SLIValue), pctString(s.ErrorBudgetRemaining), s.BurnRates["1h"], s.BurnRates["6h"])
	}
	return tw.Flush()
}
