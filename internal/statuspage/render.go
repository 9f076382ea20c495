package statuspage

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
)

//go:embed templates/*.html
var templateFS embed.FS

// Asset names a page serves.
const (
	AssetHTML    = "index.html"
	AssetSummary = "summary.json"
	AssetStatus  = "status.json"
	AssetFeed    = "history.atom"
	// More of Statuspage's public API, for widgets written against it.
	AssetComponents  = "components.json"
	AssetIncidents   = "incidents.json"
	AssetUnresolved  = "incidents/unresolved.json"
	AssetMaintenance = "scheduled-maintenances.json"
	AssetUpcoming    = "scheduled-maintenances/upcoming.json"
	AssetActive      = "scheduled-maintenances/active.json"
	AssetBadge       = "badge.svg" // the whole page; per component: "badge/<component>.svg"
)

// Rendered is one pre-rendered response.
type Rendered struct {
	Body        []byte
	Gzip        []byte // Body gzipped, served to clients that accept it
	ContentType string
	ETag        string
	// Header holds the response fields that do not depend on the request, built with the
	// rendering so serving one copies a few slices and allocates almost nothing.
	Header http.Header
}

type snapshot struct {
	gen    uint64
	built  time.Time
	assets map[string]*Rendered
}

type pageCache struct {
	building sync.Mutex
	snap     *snapshot // guarded by Service.mu
}

// Asset returns a pre-rendered asset of a page, rendering the page again if something changed
// or MaxAge passed. While one request renders, the others are served the previous rendering,
// so a spike of requests never becomes a spike of queries.
func (s *Service) Asset(ctx context.Context, pageID, name string) (*Rendered, error) {
	p := s.Page(pageID)
	if p == nil {
		return nil, fmt.Errorf("status page %q: %w", pageID, ErrNotFound)
	}
	s.mu.Lock()
	pc := s.caches[pageID]
	if pc == nil {
		pc = &pageCache{}
		s.caches[pageID] = pc
	}
	snap := pc.snap
	s.mu.Unlock()
	if !s.fresh(snap) {
		// With a rendering in hand, only one request renders anew and the rest serve the old
		// one meanwhile; with none, they all wait for the first.
		locked := snap == nil
		if locked {
			pc.building.Lock()
		} else {
			locked = pc.building.TryLock()
		}
		if locked {
			err := func() error {
				defer pc.building.Unlock()
				s.mu.Lock()
				snap = pc.snap
				s.mu.Unlock()
				if s.fresh(snap) {
					return nil
				}
				next, err := s.build(ctx, p, s.gen.Load())
				if err != nil {
					return err
				}
				s.mu.Lock()
				pc.snap, snap = next, next
				s.mu.Unlock()
				return nil
			}()
			if err != nil && snap == nil {
				return nil, err
			}
			if err != nil {
				s.log.Error("status page rendering failed; serving the previous one", "page", pageID, "err", err)
			}
		}
	}
	a, ok := snap.assets[name]
	if !ok {
		return nil, fmt.Errorf("%s of status page %q: %w", name, pageID, ErrNotFound)
	}
	return a, nil
}

func (s *Service) fresh(snap *snapshot) bool {
	return snap != nil && snap.gen == s.gen.Load() && s.clock.Now().Sub(snap.built) < MaxAge
}

func (s *Service) build(ctx context.Context, p *config.StatusPage, gen uint64) (*snapshot, error) {
	v, err := s.view(ctx, p)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{gen: gen, built: s.clock.Now(), assets: map[string]*Rendered{}}
	var html bytes.Buffer
	if err := s.render.page.Execute(&html, v); err != nil {
		return nil, err
	}
	snap.add(AssetHTML, "text/html; charset=utf-8", html.Bytes())
	sum, err := marshal(summaryOf(v))
	if err != nil {
		return nil, err
	}
	snap.add(AssetSummary, "application/json", sum)
	st, err := marshal(statusDoc{Page: pageOf(v), Status: statusOf(v)})
	if err != nil {
		return nil, err
	}
	snap.add(AssetStatus, "application/json", st)
	for name, doc := range v.apiDocuments() {
		b, err := marshal(doc)
		if err != nil {
			return nil, err
		}
		snap.add(name, "application/json", b)
	}
	feed, err := atomFeed(v)
	if err != nil {
		return nil, err
	}
	snap.add(AssetFeed, "application/atom+xml; charset=utf-8", feed)
	snap.add(AssetBadge, "image/svg+xml", badge(v.Page.Title, v.Worst))
	for _, c := range v.Components {
		snap.add("badge/"+c.ID+".svg", "image/svg+xml", badge(c.Name, c.Status))
	}
	return snap, nil
}

func (snap *snapshot) add(name, ctype string, body []byte) {
	r := &Rendered{Body: body, ContentType: ctype, ETag: etagOf(body), Header: http.Header{}}
	h := r.Header
	h.Set("Content-Type", ctype)
	// Browsers revalidate every time (a 304 costs little) so nobody looks at an old status;
	// a CDN in front may hold a copy for a few seconds.
	h.Set("Cache-Control", "public, max-age=0, s-maxage=5")
	h.Set("ETag", r.ETag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(ctype, "text/html") {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
	} else {
		// Widgets on other sites read the JSON and badges, as they do Statuspage's.
		h.Set("Access-Control-Allow-Origin", "*")
	}
	if len(body) > 512 {
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(body)
		w.Close()
		r.Gzip = z.Bytes()
	}
	snap.assets[name] = r
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.Bytes(), err
}

type renderer struct{ page *template.Template }

// incidentArgs hands the "incident" template the page beside the incident it draws.
type incidentArgs struct {
	View     *View
	Incident PublicIncident
}

func newRenderer() *renderer {
	funcs := template.FuncMap{
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pct":   FormatUptime,
		"x":     func(i int) int { return i * 6 },
		"width": func(n int) int { return n * 6 },
		"lower": strings.ToLower,
		"label": func(s Status) string { return s.Label() },
		"title": updateLabel,
		"args":  func(v *View, pi PublicIncident) incidentArgs { return incidentArgs{v, pi} },
	}
	return &renderer{page: template.Must(template.New("page.html").Funcs(funcs).ParseFS(templateFS, "templates/page.html"))}
}

// Statuspage public API documents (https://<page>.statuspage.io/api/v2/summary.json).

type pageJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt string `json:"updated_at"`
}

type statusJSON struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type statusDoc struct {
	Page   pageJSON   `json:"page"`
	Status statusJSON `json:"status"`
}

type componentJSON struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Status             Status   `json:"status"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	Position           int      `json:"position"`
	Description        *string  `json:"description"`
	Showcase           bool     `json:"showcase"`
	StartDate          *string  `json:"start_date"`
	GroupID            *string  `json:"group_id"`
	PageID             string   `json:"page_id"`
	Group              bool     `json:"group"`
	OnlyShowIfDegraded bool     `json:"only_show_if_degraded"`
	Components         []string `json:"components,omitempty"`
}

type affectedJSON struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus Status `json:"old_status"`
	NewStatus Status `json:"new_status"`
}

type updateJSON struct {
	ID                   string         `json:"id"`
	Status               string         `json:"status"`
	Body                 string         `json:"body"`
	IncidentID           string         `json:"incident_id"`
	CreatedAt            string         `json:"created_at"`
	UpdatedAt            string         `json:"updated_at"`
	DisplayAt            string         `json:"display_at"`
	AffectedComponents   []affectedJSON `json:"affected_components,omitempty"`
	DeliverNotifications bool           `json:"deliver_notifications"`
	CustomTweet          *string        `json:"custom_tweet"`
	TweetID              *string        `json:"tweet_id"`
}

type incidentJSON struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Status          string          `json:"status"`
	CreatedAt       string          `json:"created_at"`
	UpdatedAt       string          `json:"updated_at"`
	MonitoringAt    *string         `json:"monitoring_at"`
	ResolvedAt      *string         `json:"resolved_at"`
	Impact          string          `json:"impact"`
	Shortlink       string          `json:"shortlink"`
	StartedAt       string          `json:"started_at"`
	PageID          string          `json:"page_id"`
	IncidentUpdates []updateJSON    `json:"incident_updates"`
	Components      []componentJSON `json:"components"`
	ScheduledFor    *string         `json:"scheduled_for,omitempty"`
	ScheduledUntil  *string         `json:"scheduled_until,omitempty"`
}

type summaryDoc struct {
	Page                  pageJSON        `json:"page"`
	Components            []componentJSON `json:"components"`
	Incidents             []incidentJSON  `json:"incidents"`
	ScheduledMaintenances []incidentJSON  `json:"scheduled_maintenances"`
	Status                statusJSON      `json:"status"`
}

func jsonTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func optJSONTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := jsonTime(*t)
	return &s
}

func pageOf(v *View) pageJSON {
	tz := v.Page.TimeZone
	if tz == "" || tz == "UTC" {
		tz = "Etc/UTC"
	}
	return pageJSON{ID: v.Page.ID, Name: v.Page.Title, URL: v.URL, TimeZone: tz, UpdatedAt: jsonTime(v.UpdatedAt)}
}

func statusOf(v *View) statusJSON {
	return statusJSON{Indicator: v.Indicator, Description: v.Description}
}

func (v *View) componentsJSON() ([]componentJSON, map[string]componentJSON) {
	out := []componentJSON{}
	byID := map[string]componentJSON{}
	pos := 0
	for _, g := range v.Groups {
		var gid *string
		if g.ID != "" {
			pos++
			id := g.ID
			gid = &id
			created := v.Now
			var updated time.Time
			for _, c := range g.Components {
				created = clock.Earliest(created, c.CreatedAt)
				updated = clock.Latest(updated, c.UpdatedAt)
			}
			// A group changes when one of its components does.
			gj := componentJSON{ID: g.ID, Name: g.Name, Status: g.Status, CreatedAt: jsonTime(created), UpdatedAt: jsonTime(updated),
				Position: pos, PageID: v.Page.ID, Group: true, Components: []string{}}
			for _, c := range g.Components {
				gj.Components = append(gj.Components, c.ID)
			}
			out = append(out, gj)
		}
		for _, c := range g.Components {
			pos++
			cj := componentJSON{ID: c.ID, Name: c.Name, Status: c.Status, CreatedAt: jsonTime(c.CreatedAt), UpdatedAt: jsonTime(c.UpdatedAt),
				Position: pos, Showcase: true, GroupID: gid, PageID: v.Page.ID}
			if c.Description != "" {
				d := c.Description
				cj.Description = &d
			}
			out = append(out, cj)
			byID[c.ID] = cj
		}
	}
	return out, byID
}

func (v *View) incidentJSON(pi PublicIncident, comps map[string]componentJSON) incidentJSON {
	ij := incidentJSON{ID: pi.Key(), Name: pi.Name, Status: pi.Status, CreatedAt: jsonTime(pi.CreatedAt), UpdatedAt: jsonTime(pi.UpdatedAt),
		MonitoringAt: optJSONTime(pi.MonitoringAt), ResolvedAt: optJSONTime(pi.ResolvedAt), Impact: pi.Impact, StartedAt: jsonTime(pi.StartedAt),
		PageID: v.Page.ID, IncidentUpdates: []updateJSON{}, Components: []componentJSON{},
		ScheduledFor: optJSONTime(pi.ScheduledFor), ScheduledUntil: optJSONTime(pi.ScheduledUntil)}
	if v.URL != "" {
		ij.Shortlink = v.URL + "#incident-" + ij.ID
	}
	for _, id := range pi.Components {
		if c, ok := comps[id]; ok {
			ij.Components = append(ij.Components, c)
		}
	}
	for i, u := range pi.Updates {
		uj := updateJSON{ID: fmt.Sprint(u.ID), Status: u.Status, Body: u.Body, IncidentID: ij.ID,
			CreatedAt: jsonTime(u.CreatedAt), UpdatedAt: jsonTime(u.CreatedAt), DisplayAt: jsonTime(u.CreatedAt), DeliverNotifications: true}
		if u.ID == 0 {
			uj.ID = fmt.Sprintf("%s-%d", ij.ID, len(pi.Updates)-i) // maintenance's own updates, numbered oldest first
		}
		if u.EditedAt != nil {
			uj.UpdatedAt = jsonTime(*u.EditedAt)
		}
		for _, a := range u.Affected {
			uj.AffectedComponents = append(uj.AffectedComponents, affectedJSON(a))
		}
		ij.IncidentUpdates = append(ij.IncidentUpdates, uj)
	}
	return ij
}

func summaryOf(v *View) summaryDoc {
	comps, byID := v.componentsJSON()
	d := summaryDoc{Page: pageOf(v), Components: comps, Incidents: []incidentJSON{}, ScheduledMaintenances: []incidentJSON{}, Status: statusOf(v)}
	for _, pi := range v.Active {
		d.Incidents = append(d.Incidents, v.incidentJSON(pi, byID))
	}
	for _, pi := range v.Maintenance {
		d.ScheduledMaintenances = append(d.ScheduledMaintenances, v.incidentJSON(pi, byID))
	}
	return d
}

// apiDocuments are the rest of Statuspage's public API: components, incidents (all of the last
// 14 days, or the unresolved ones) and scheduled maintenance (all, upcoming, active).
func (v *View) apiDocuments() map[string]any {
	comps, byID := v.componentsJSON()
	page := pageOf(v)
	list := func(pis []PublicIncident, keep func(PublicIncident) bool) []incidentJSON {
		out := []incidentJSON{}
		for _, pi := range pis {
			if keep(pi) {
				out = append(out, v.incidentJSON(pi, byID))
			}
		}
		return out
	}
	all := func(PublicIncident) bool { return true }
	incidents := append(append([]PublicIncident{}, v.Active...), v.Past...)
	return map[string]any{
		AssetComponents:  map[string]any{"page": page, "components": comps},
		AssetIncidents:   map[string]any{"page": page, "incidents": list(incidents, all)},
		AssetUnresolved:  map[string]any{"page": page, "incidents": list(v.Active, all)},
		AssetMaintenance: map[string]any{"page": page, "scheduled_maintenances": list(v.Maintenance, all)},
		AssetUpcoming: map[string]any{"page": page, "scheduled_maintenances": list(v.Maintenance, func(pi PublicIncident) bool {
			return pi.Status == "scheduled"
		})},
		AssetActive: map[string]any{"page": page, "scheduled_maintenances": list(v.Maintenance, func(pi PublicIncident) bool {
			return pi.Status == "in_progress"
		})},
	}
}

// Atom (RFC 4287) feed of the page's incidents and maintenance.

type atomFeedDoc struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID        string    `xml:"id"`
	Title     string    `xml:"title"`
	Published string    `xml:"published"`
	Updated   string    `xml:"updated"`
	Link      *atomLink `xml:"link,omitempty"`
	Content   atomText  `xml:"content"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

// tagURI is an RFC 4151 tag: tag:<authority>,<date>:<specific>. The date is one on which the
// authority named the thing, so the id never changes nor clashes with one minted later.
func tagURI(authority string, date time.Time, specific string) string {
	return "tag:" + authority + "," + date.UTC().Format("2006-01-02") + ":" + specific
}

// atomFeed is the page's history as an Atom feed (RFC 4287): unresolved incidents, announced
// maintenance (upcoming, in progress, and completed in the last 14 days) and incidents resolved
// in the last 14 days, newest change first. Entries are named by tag URIs (RFC 4151) and the
// feed's author is the page.
func atomFeed(v *View) ([]byte, error) {
	f := atomFeedDoc{ID: tagURI(v.Authority, v.Since, "status/"+v.Page.ID), Title: v.Page.Title + " status history",
		Updated: v.UpdatedAt.UTC().Format(time.RFC3339), Author: atomPerson{Name: v.Page.Title, URI: v.URL}}
	if v.URL != "" {
		f.ID = v.URL
		f.Links = []atomLink{{Href: v.URL, Type: "text/html"}, {Rel: "self", Type: "application/atom+xml", Href: strings.TrimSuffix(v.URL, "/") + "/history.atom"}}
	}
	var all []PublicIncident
	all = append(all, v.Active...)
	all = append(all, v.Maintenance...)
	all = append(all, v.Completed...)
	all = append(all, v.Past...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].UpdatedAt.After(all[j].UpdatedAt) })
	for _, pi := range all {
		e := atomEntry{ID: tagURI(v.Authority, pi.CreatedAt, "status/"+v.Page.ID+"/incident/"+pi.Key()), Title: pi.Name,
			Published: pi.CreatedAt.UTC().Format(time.RFC3339), Updated: pi.UpdatedAt.UTC().Format(time.RFC3339), Content: atomText{Type: "text"}}
		if pi.Kind == KindMaintenance && pi.ScheduledFor != nil {
			e.Title = fmt.Sprintf("%s (maintenance, %s to %s)", pi.Name, v.Time(*pi.ScheduledFor), v.Time(*pi.ScheduledUntil))
		}
		if v.URL != "" {
			e.Link = &atomLink{Href: v.URL + "#incident-" + pi.Key(), Type: "text/html"}
		}
		var b strings.Builder
		for _, u := range pi.Updates {
			fmt.Fprintf(&b, "%s (%s): %s\n", updateLabel(u.Status), v.Time(u.CreatedAt), u.Body)
		}
		e.Content.Body = strings.TrimSpace(b.String())
		f.Entries = append(f.Entries, e)
	}
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// updateLabel is an update's status as a reader says it: "In progress", "Postmortem".
func updateLabel(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ReplaceAll(s[1:], "_", " ")
}

// badge draws a shields-style SVG: the name on grey, the status on its colour.
func badge(name string, st Status) []byte {
	label := strings.ToLower(st.Label())
	color := map[Status]string{Operational: "#2e7d32", UnderMaintenance: "#1565c0", DegradedPerf: "#b7791f", PartialOutage: "#c05621", MajorOutage: "#c62828"}[st]
	lw, rw := 7*len([]rune(name))+12, 7*len(label)+12
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`, lw+rw, xmlEscape(name), label)
	fmt.Fprintf(&b, `<title>%s: %s</title><rect width="%d" height="20" rx="3" fill="#555"/><rect x="%d" width="%d" height="20" rx="3" fill="%s"/><rect x="%d" width="4" height="20" fill="%s"/>`,
		xmlEscape(name), label, lw+rw, lw, rw, color, lw, color)
	fmt.Fprintf(&b, `<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="6" y="14">%s</text><text x="%d" y="14">%s</text></g></svg>`,
		xmlEscape(name), lw+6, label)
	return b.Bytes()
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
