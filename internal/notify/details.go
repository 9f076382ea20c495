package notify

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Details are what the alert behind a page said of itself, as every channel shows it: its
// custom details as a table, Alertmanager's labels and annotations, and its links and images.
// They are made by ParseDetails, which bounds their size and redacts secrets, so a channel only
// has to fit them to its own limits and escape them for its own markup.
type Details struct {
	// Source is where the alert says it comes from (a host, a job).
	Source string `json:"source,omitempty"`
	// Fields are the sender's details: an Events v2 event's custom_details, the generic
	// webhook's details, and what else the alert carries (component, group, class...).
	Fields Table `json:"fields"`
	// Labels and Annotations are an Alertmanager alert's.
	Labels      Table `json:"labels"`
	Annotations Table `json:"annotations"`
	// Links (an Alertmanager alert's generatorURL among them) and Images hold only absolute
	// http(s) URLs.
	Links  []Link `json:"links,omitempty"`
	Images []Link `json:"images,omitempty"`
	// MoreLinks and MoreImages count those left out by the bounds.
	MoreLinks  int `json:"more_links,omitempty"`
	MoreImages int `json:"more_images,omitempty"`
	// Alerts is how many alerts the incident holds; when more than one, the details are the
	// first open one's.
	Alerts int `json:"alerts,omitempty"`
}

// Table is one titled table of details, bounded: More counts the rows left out.
type Table struct {
	Rows []Field `json:"rows,omitempty"`
	More int     `json:"more,omitempty"`
}

// Field is one row of a table.
type Field struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// URL is the row's value when it is one absolute http(s) URL, which channels that can link
// show as a link; "" otherwise (any other scheme, or text around a URL).
func (f Field) URL() string {
	if strings.ContainsAny(f.Value, " \t") || len(f.Value) > MaxHref {
		return ""
	}
	u, err := url.Parse(f.Value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return f.Value
}

// Link is a link or an image (Href is an image's src, Text its alt text, To where the image
// links when its sender gave an href; a channel links an image to To, else to its src).
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
	To   string `json:"to,omitempty"`
}

// Target is where an image links: its href when given, else its own src.
func (l Link) Target() string {
	if l.To != "" {
		return l.To
	}
	return l.Href
}

// Bounds of what ParseDetails keeps, whatever the alert holds. Over them, rows and links are
// counted, not kept ("… N more").
const (
	MaxKey      = 80     // runes of a key (a flattened path)
	MaxValue    = 400    // runes of a value
	MaxRows     = 40     // rows of one table
	MaxText     = 12_000 // runes of keys and values of all tables together
	MaxLinks    = 10
	MaxImages   = 3
	MaxHref     = 2048 // bytes of a URL; a longer one is left out (a cut URL is a wrong one)
	maxDepth    = 6    // levels of nesting flattened into paths; deeper is shown as JSON
	redactedStr = "[redacted]"
)

// Redacted is what a secret value is shown as.
const Redacted = redactedStr

// Empty reports whether there is nothing to show.
func (d *Details) Empty() bool {
	return d == nil || d.Source == "" && len(d.Fields.Rows) == 0 && d.Fields.More == 0 && len(d.Labels.Rows) == 0 &&
		d.Labels.More == 0 && len(d.Annotations.Rows) == 0 && d.Annotations.More == 0 && len(d.Links) == 0 && len(d.Images) == 0
}

// Titled is each non-empty table with its title, in the order channels show them.
func (d *Details) Titled() []TitledTable {
	if d == nil {
		return nil
	}
	var out []TitledTable
	for _, t := range []TitledTable{{"Details", d.Fields}, {"Labels", d.Labels}, {"Annotations", d.Annotations}} {
		if len(t.Rows) > 0 || t.More > 0 {
			out = append(out, t)
		}
	}
	return out
}

// TitledTable is a table with the heading it is shown under.
type TitledTable struct {
	Title string
	Table
}

// DetailsOptions say what ParseDetails must never show.
type DetailsOptions struct {
	// Secrets are values no message may carry (integration keys, ping keys, contact method
	// secrets of the config in force): wherever one appears it is replaced by [redacted].
	Secrets []string
}

// ParseDetails reads the details an alert stored (a JSON object, as internal/alert keeps it)
// into what channels show. It never fails: what it cannot read it leaves out, and any input
// gives bounded, valid UTF-8 text, every value on one line, secrets redacted (see SecretKey).
//
// Known members: custom_details (Events v2) and details (generic webhook) fill Fields with
// their members flattened into paths (db.pool.size); labels and annotations (Alertmanager)
// their tables; links and images (Events v2; Alertmanager's generatorURL is a link), client
// with client_url, and alertmanager_url become links. Every other member is a field too.
func ParseDetails(raw json.RawMessage, source string, o DetailsOptions) *Details {
	p := parser{opts: o, budget: MaxText}
	d := &Details{Source: p.clean(source, MaxValue)}
	members, ok := objectMembers(raw)
	if !ok {
		if len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
			p.flatten(&d.Fields, "details", raw, 0)
		}
		return d
	}
	var rest []member
	var client, clientURL, amURL string
	for _, m := range members {
		switch m.key {
		case "custom_details", "details":
			if isObject(m.value) {
				p.flatten(&d.Fields, "", m.value, 0)
			} else {
				p.flatten(&d.Fields, m.key, m.value, 0)
			}
		case "labels":
			p.flatten(&d.Labels, "", m.value, maxDepth-1)
		case "annotations":
			p.flatten(&d.Annotations, "", m.value, maxDepth-1)
		case "links":
			p.links(&d.Links, &d.MoreLinks, m.value, "href", "text", MaxLinks)
		case "images":
			p.links(&d.Images, &d.MoreImages, m.value, "src", "alt", MaxImages)
		case "client":
			json.Unmarshal(m.value, &client)
		case "client_url":
			json.Unmarshal(m.value, &clientURL)
		case "alertmanager_url":
			json.Unmarshal(m.value, &amURL)
		default:
			rest = append(rest, m)
		}
	}
	if amURL != "" {
		p.addLink(&d.Links, &d.MoreLinks, amURL, "Alertmanager", MaxLinks)
	}
	if clientURL != "" {
		p.addLink(&d.Links, &d.MoreLinks, clientURL, firstNonBlank(client, "Client"), MaxLinks)
	} else if client != "" {
		rest = append(rest, member{"client", mustJSON(client)})
	}
	for _, m := range rest {
		p.flatten(&d.Fields, m.key, m.value, 0)
	}
	return d
}

type member struct {
	key   string
	value json.RawMessage
}

// objectMembers reads an object's members in the order they were written.
func objectMembers(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out, true
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out, true
		}
		out = append(out, member{k, v})
	}
	return out, true
}

func isObject(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) > 0 && b[0] == '{'
}

type parser struct {
	opts   DetailsOptions
	budget int // runes left for keys and values
}

// flatten adds value under key to t: an object's members as key.member, a list of scalars as
// one comma-separated value, a list of objects as key[i].member.
func (p *parser) flatten(t *Table, key string, raw json.RawMessage, depth int) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return
	}
	switch {
	case b[0] == '{' && depth < maxDepth:
		members, _ := objectMembers(b)
		if len(members) == 0 && key != "" {
			p.add(t, key, "{}")
		}
		for _, m := range members {
			p.flatten(t, join(key, m.key), m.value, depth+1)
		}
	case b[0] == '[' && depth < maxDepth:
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil {
			p.add(t, key, compact(b))
			return
		}
		scalars := make([]string, 0, len(items))
		for _, it := range items {
			it = bytes.TrimSpace(it)
			if len(it) > 0 && (it[0] == '{' || it[0] == '[') {
				scalars = nil
				break
			}
			scalars = append(scalars, scalar(it))
		}
		if scalars != nil || len(items) == 0 {
			p.add(t, key, strings.Join(scalars, ", "))
			return
		}
		for i, it := range items {
			p.flatten(t, key+"["+strconv.Itoa(i)+"]", it, depth+1)
		}
	case b[0] == '{' || b[0] == '[':
		p.add(t, key, compact(b))
	default:
		p.add(t, key, scalar(b))
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// scalar is a JSON string's text, or any other value as written.
func scalar(b []byte) string {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s
		}
	}
	return string(b)
}

func compact(b []byte) string {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return string(b)
	}
	return out.String()
}

func mustJSON(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// add puts one row in t, or counts it as left out once the table or the whole is full.
func (p *parser) add(t *Table, key, value string) {
	if key == "" {
		key = "value"
	}
	if len(t.Rows) >= MaxRows || p.budget <= 0 {
		t.More++
		return
	}
	k := p.clean(key, MaxKey)
	var v string
	if SecretKey(key) {
		v = redactedStr
	} else {
		v = p.clean(p.redactValue(value), MaxValue)
	}
	p.budget -= utf8.RuneCountInString(k) + utf8.RuneCountInString(v)
	t.Rows = append(t.Rows, Field{Key: k, Value: v})
}

// clean makes s safe to show anywhere: valid UTF-8, on one line, the config's secrets
// redacted, at most n runes (the last an ellipsis when cut).
func (p *parser) clean(s string, n int) string {
	s = OneLine(strings.ToValidUTF8(s, "\uFFFD"))
	for _, secret := range p.opts.Secrets {
		if len(secret) >= 8 && strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, redactedStr)
		}
	}
	return truncate(strings.TrimSpace(s), n)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			return s[:i] + "…"
		}
		count++
	}
	return s
}

// redactValue hides credentials a value carries whatever its key: an Authorization header's
// value (Bearer, Basic, token ...), and the password of a URL.
func (p *parser) redactValue(v string) string {
	t := strings.TrimSpace(v)
	if scheme, rest, ok := strings.Cut(t, " "); ok && strings.TrimSpace(rest) != "" {
		switch strings.ToLower(scheme) {
		case "bearer", "basic", "token", "digest", "negotiate", "apikey":
			return scheme + " " + redactedStr
		}
	}
	if strings.Contains(t, "://") && (strings.Contains(t, "@") || strings.Contains(t, "?")) {
		return redactURLs(v)
	}
	return v
}

// redactURLs replaces the password of every URL in s, and the value of every query parameter
// whose name says it is secret (?token=, &api_key=).
func redactURLs(s string) string {
	words := strings.Fields(s)
	changed := false
	for i, w := range words {
		u, err := url.Parse(w)
		if err != nil || !strings.Contains(w, "://") {
			continue
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "redacted")
				words[i], changed = u.String(), true
			}
		}
		if redactQuery(u) {
			words[i], changed = u.String(), true
		}
	}
	if !changed {
		return s
	}
	return strings.Join(words, " ")
}

// redactQuery replaces the values of u's query parameters whose names say they are secret, and
// reports whether there were any.
func redactQuery(u *url.URL) bool {
	q := u.Query()
	secret := false
	for k := range q {
		if SecretKey(k) {
			q.Set(k, "redacted")
			secret = true
		}
	}
	if secret {
		u.RawQuery = q.Encode()
	}
	return secret
}

// links reads a list of link objects (href and text, or an image's src and alt).
func (p *parser) links(to *[]Link, more *int, raw json.RawMessage, hrefField, textField string, max int) {
	var items []map[string]any
	if json.Unmarshal(raw, &items) != nil {
		return
	}
	for _, it := range items {
		href, _ := it[hrefField].(string)
		text, _ := it[textField].(string)
		n := len(*to)
		p.addLink(to, more, href, text, max)
		if target, _ := it["href"].(string); hrefField == "src" && len(*to) > n && target != "" {
			var one []Link
			var none int
			if p.addLink(&one, &none, target, "", 1); len(one) == 1 {
				(*to)[n].To = one[0].Href
			}
		}
	}
}

// addLink keeps a link when it is an absolute http(s) URL of bounded length, with any password
// and any query parameter that looks secret redacted.
func (p *parser) addLink(to *[]Link, more *int, href, text string, max int) {
	href = strings.TrimSpace(href)
	if href == "" {
		return
	}
	u, err := url.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(href) > MaxHref || !utf8.ValidString(href) ||
		strings.ContainsFunc(href, breaksLine) {
		return
	}
	if len(*to) >= max {
		*more++
		return
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
		}
	}
	redactQuery(u)
	s := u.String()
	for _, secret := range p.opts.Secrets {
		if len(secret) >= 8 && strings.Contains(s, secret) {
			return // a link that carries a key of nines' own is not shown at all
		}
	}
	*to = append(*to, Link{Href: s, Text: p.clean(text, 100)})
}

func firstNonBlank(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// secretWords are the names whose values are never shown: a key (any part of a flattened
// path) is secret when, lowercased and without '_', '-', '.' and spaces, it contains one of
// them, or is one of secretNames.
var secretWords = []string{"password", "passwd", "passphrase", "secret", "token", "apikey", "authorization",
	"credential", "privatekey", "accesskey", "sessionid", "cookie", "signature", "routingkey", "integrationkey",
	"servicekey", "pingkey", "webhookurl"}

var secretNames = map[string]bool{"auth": true, "pwd": true, "pass": true, "key": true, "dsn": true, "jwt": true}

// SecretKey reports whether a details key names a secret (password, api_key, Authorization,
// db.credentials.user ...): its value is shown as [redacted].
func SecretKey(key string) bool {
	for _, part := range strings.FieldsFunc(key, func(r rune) bool { return r == '.' || r == '[' || r == ']' }) {
		norm := strings.Map(func(r rune) rune {
			switch r {
			case '_', '-', ' ':
				return -1
			}
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, part)
		if secretNames[norm] {
			return true
		}
		for _, w := range secretWords {
			if strings.Contains(norm, w) {
				return true
			}
		}
	}
	return false
}
