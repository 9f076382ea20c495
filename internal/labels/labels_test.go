package labels_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/labels"
)

func TestParseReadsAlertmanagersMatcherSyntax(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // the matchers written back, joined by " & "
	}{
		{"an unquoted equality", `severity=critical`, `severity="critical"`},
		{"spaces around the operator", `  severity = critical `, `severity="critical"`},
		{"a quoted value", `severity="critical"`, `severity="critical"`},
		{"a quoted value with a comma and escapes", `msg="a,b \"c\" \\d"`, `msg="a,b \"c\" \\d"`},
		{"not equal", `env!=staging`, `env!="staging"`},
		{"a regular expression", `job=~"api|web"`, `job=~"api|web"`},
		{"a negative regular expression", `job!~api.*`, `job!~"api.*"`},
		{"an empty value", `team=`, `team=""`},
		{"an empty quoted value", `team=""`, `team=""`},
		{"a UTF-8 literal", `name=Προμηθεύς`, `name="Προμηθεύς"`},
		{"a quoted label name", `"dotted name"="x"`, `"dotted name"="x"`},
		{"several matchers in braces", `{alertname="Watchdog", severity=~"warning|critical"}`, `alertname="Watchdog" & severity=~"warning|critical"`},
		{"several matchers without braces", `alertname="Watchdog", severity=~"warning|critical"`, `alertname="Watchdog" & severity=~"warning|critical"`},
		{"a trailing comma", `{a=1, b=2,}`, `a="1" & b="2"`},
		{"whitespace and newlines in braces", "{\n   alertname = \"Watchdog\",\n   severity =~ \"warning|critical\",\n}", `alertname="Watchdog" & severity=~"warning|critical"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, err := labels.Parse(c.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.String())
			}
			if strings.Join(got, " & ") != c.want {
				t.Errorf("Parse(%q) = %s, want %s", c.in, strings.Join(got, " & "), c.want)
			}
			// What String writes, Parse reads back the same.
			again, err := labels.Parse(strings.Join(got, ","))
			if err != nil || len(again) != len(ms) {
				t.Errorf("written back as %q: %v", strings.Join(got, ","), err)
			}
		})
	}
}

func TestParseSaysWhatIsWrongAndWhere(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"an empty matcher", ``, `expected a label name (at character 1)`},
		{"empty braces", `{}`, `expected a label name (at character 2)`},
		{"no operator", `severity`, `expected one of =, !=, =~ or !~ after the label name "severity" (at character 9)`},
		{"a single-character operator typo", `severity:critical`, `expected one of =, !=, =~ or !~`},
		{"a regular expression that does not compile", `job=~"api("`, `the regular expression "api(" does not compile: missing closing ): ` + "`^(?:api()$`" + ` (at character 6)`},
		{"a quote never closed", `msg="abc`, `the quoted value is never closed (at character 5)`},
		{"a bad escape", `msg="\q"`, `has a bad escape`},
		{"an unclosed brace", `{a=b`, `a '{' is never closed`},
		{"a closing brace without an opening one", `a=b}`, `a '}' closes no '{' (at character 4)`},
		{"two matchers without a comma", `a=b c=d`, `expected a comma between matchers (at character 5)`},
		{"a value starting with a single quote", `a='b'`, `"'" cannot start a value; quote it with double quotes (at character 3)`},
		{"doubled braces", `{{a=b}}`, `expected a label name (at character 2)`},
		{"a reserved character in a literal", `a=b!c`, `expected a comma between matchers (at character 4)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, err := labels.Parse(c.in)
			if err == nil {
				t.Fatalf("Parse(%q) accepted: %v", c.in, ms)
			}
			var pe *labels.ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse(%q) = %v, want an error with %q", c.in, err, c.want)
			}
		})
	}
}

func TestMatchersMatchAsAlertmanagersDo(t *testing.T) {
	set := labels.Set{"severity": "critical", "job": "api-server", "empty": ""}
	cases := []struct {
		matcher string
		want    bool
	}{
		{`severity=critical`, true},
		{`severity=warning`, false},
		{`severity!=warning`, true},
		{`job=~"api.*"`, true},
		{`job=~"api"`, false}, // anchored: the whole value must match
		{`job!~"api"`, true},
		{`job=~"api|api-server"`, true},
		{`missing=""`, true}, // a missing label is an empty one
		{`missing=`, true},
		{`missing!=""`, false},
		{`empty=""`, true},
		{`missing=~".*"`, true},
		{`missing=~".+"`, false},
		{`missing!~"x"`, true},
		{`severity=critical, job=~"api.*"`, true},
		{`severity=critical, job=web`, false},
	}
	for _, c := range cases {
		ms, err := labels.Parse(c.matcher)
		if err != nil {
			t.Fatal(err)
		}
		if got := ms.Matches(set); got != c.want {
			t.Errorf("%s on %v = %v, want %v", c.matcher, set, got, c.want)
		}
	}
}

func TestEqualOnTakesMissingAsEmpty(t *testing.T) {
	a := labels.Set{"dc": "eu-west", "rack": ""}
	b := labels.Set{"dc": "eu-west"}
	if !labels.EqualOn(a, b, []string{"dc", "rack", "neither"}) {
		t.Error("labels equal or missing on both were not equal")
	}
	if labels.EqualOn(a, labels.Set{"dc": "us-east"}, []string{"dc"}) {
		t.Error("dc=eu-west and dc=us-east were equal")
	}
	if labels.EqualOn(a, labels.Set{}, []string{"dc"}) {
		t.Error("dc=eu-west and no dc were equal")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`severity=critical`, `{a="b", c=~"d|e",}`, `msg="a,b \"c\""`, `job!~api.*`, `a='b'`, `{{a=b}}`, `x=~"(("`, `"na me"!=""`, "a=\"\\", `{`} {
		f.Add(s, "critical")
	}
	f.Fuzz(func(t *testing.T, in, value string) {
		ms, err := labels.Parse(in)
		if err != nil {
			var pe *labels.ParseError
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(in) || pe.Msg == "" {
				t.Fatalf("Parse(%q): error %v (%T) does not say where", in, err, err)
			}
			_ = err.Error()
			return
		}
		if len(ms) == 0 {
			t.Fatalf("Parse(%q) accepted no matchers", in)
		}
		var parts []string
		for _, m := range ms {
			m.Matches(labels.Set{m.Name: value})
			parts = append(parts, m.String())
		}
		// What is accepted, written back, reads back as the same matchers.
		again, err := labels.Parse(strings.Join(parts, ", "))
		if err != nil || len(again) != len(ms) {
			t.Fatalf("Parse(%q) = %q, which reads back as %v, %v", in, parts, again, err)
		}
		for i := range ms {
			if again[i].String() != ms[i].String() {
				t.Fatalf("%q read back as %q", ms[i], again[i])
			}
		}
	})
}
