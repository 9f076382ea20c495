package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// configKinds are the kinds of config objects the pages offer, with their names.
var configKinds = []struct{ Kind, Name string }{
	{"users", "People"}, {"services", "Services"}, {"escalation_policies", "Escalation policies"}, {"schedules", "Schedules"},
	{"teams", "Teams"}, {"monitors", "Monitors and heartbeats"}, {"status_pages", "Status pages"}, {"slos", "SLOs"},
}

func kindName(kind string) string {
	for _, k := range configKinds {
		if k.Kind == kind {
			return k.Name
		}
	}
	return kind
}

// configIndexView is the config page's data: the kinds, and the outcome of a reload.
type configIndexView struct {
	Kinds    []struct{ Kind, Name string }
	Files    []string
	IsAdmin  bool
	Reloaded bool
	Errors   []string
}

// ConfigPage answers GET /config.
func (s *Handler) ConfigPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderConfigIndex(w, r, http.StatusOK, configIndexView{})
}

func (s *Handler) renderConfigIndex(w http.ResponseWriter, r *http.Request, status int, v configIndexView) error {
	v.Kinds, v.Files, v.IsAdmin = configKinds, s.Config.Get().Files, httpx.Principal(r).Can(auth.Admin)
	return s.pages.Render(w, r, status, "config.html", "Configuration", v)
}

// ReloadConfig answers POST /admin/config/reload: the page says the reload was done, or shows
// every error at its file:line:col, the config in force unchanged.
func (s *Handler) ReloadConfig(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	err := configdb.Refused(s.Config.ReloadFiles())
	if err == nil {
		return s.renderConfigIndex(w, r, http.StatusOK, configIndexView{Reloaded: true})
	}
	e, known := httpx.ErrorOf(err)
	if !known {
		return err
	}
	return s.renderConfigIndex(w, r, e.Status, configIndexView{Errors: e.Messages()})
}

// configKindView is a kind's page: its objects, and the form that makes one.
type configKindView struct {
	Kind, Name string
	Objects    []api.ConfigObject
	// What the forms offer to choose from.
	Teams     []config.Team
	Policies  []config.EscalationPolicy
	Schedules []config.Schedule
	Users     []config.User
	// Form holds what was typed, shown again with Errors when refused.
	Form   url.Values
	Errors []string
	// Check is what "Check now" saw of the monitor as typed.
	Check *api.CheckResult
	// Fields is the kind's form.
	Fields *configForm
}

// configForm is a kind's form of fields, empty for a new object or filled with an object's
// values, and what it offers to choose from.
type configForm struct {
	Kind string
	F    url.Values
	// Edit: the form edits an object (its id is its path's; integrations are not offered).
	Edit         bool
	Teams        []config.Team
	Policies     []config.EscalationPolicy
	Schedules    []config.Schedule
	Users        []config.User
	Services     []config.Service
	Monitors     []config.Monitor
	MonitorTypes []struct {
		Type   string
		Fields []string
	}
	// Rows are the numbers of a status page's component rows.
	Rows []string
}

// configFormOf is kind's form holding f, offering what the principal reaches: a principal
// scoped to teams gets its teams, and their schedules and services (policies, people and
// monitors span teams: it names them in YAML).
func (s *Handler) configFormOf(r *http.Request, kind string, f url.Values, edit bool) *configForm {
	cfg, rc := s.Config.Get(), s.guard.Reach(r)
	v := &configForm{Kind: kind, F: f, Edit: edit, MonitorTypes: monitorTypes, Rows: componentRows(f)}
	for _, t := range cfg.Teams {
		if rc.Team(t.ID) {
			v.Teams = append(v.Teams, t)
		}
	}
	for _, sc := range cfg.Schedules {
		if rc.Schedule(sc.ID) {
			v.Schedules = append(v.Schedules, sc)
		}
	}
	for _, svc := range cfg.Services {
		if rc.Service(svc.ID) {
			v.Services = append(v.Services, svc)
		}
	}
	if rc.All() {
		v.Policies, v.Users, v.Monitors = cfg.EscalationPolicies, cfg.Users, cfg.Monitors
	}
	return v
}

// ConfigKindPage answers GET /config/{kind}.
func (s *Handler) ConfigKindPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderConfigKind(w, r, http.StatusOK, url.Values{}, nil)
}

func (s *Handler) renderConfigKind(w http.ResponseWriter, r *http.Request, status int, form url.Values, errs []string) error {
	return s.renderConfigKindChecked(w, r, status, form, errs, nil)
}

func (s *Handler) renderConfigKindChecked(w http.ResponseWriter, r *http.Request, status int, form url.Values, errs []string, check *api.CheckResult) error {
	kind := httpx.ConfigKind(r)
	objs, err := s.api.ConfigObjects(r, kind)
	if err != nil {
		return err
	}
	v := configKindView{Kind: kind, Name: kindName(kind), Objects: objs, Form: form, Errors: errs, Check: check}
	v.Fields = s.configFormOf(r, kind, form, false)
	v.Teams, v.Policies, v.Schedules, v.Users = v.Fields.Teams, v.Fields.Policies, v.Fields.Schedules, v.Fields.Users
	return s.pages.Render(w, r, status, "config_kind.html", kindName(kind), v)
}

// CreateConfigObject answers POST /config/{kind}: from the form's fields (services, escalation
// policies, schedules) or its document (doc, in YAML). A refusal shows the form again with
// what was typed and every problem; a service made shows its keys, this once.
func (s *Handler) CreateConfigObject(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, httpx.MaxBody); err != nil {
		return err
	}
	kind := httpx.ConfigKind(r)
	doc, err := formDocument(kind, r.PostForm)
	if err == nil && kind == "monitors" {
		doc = withHeartbeatUUID(doc)
	}
	if checkNow(kind, r.PostForm) {
		res, errs, cerr := s.checkTyped(r, string(doc))
		if cerr != nil {
			return cerr
		}
		if err != nil {
			errs = []string{err.Error()}
		}
		return s.renderConfigKindChecked(w, r, http.StatusOK, r.PostForm, errs, res)
	}
	var row configdb.Row
	var keys []configdb.NewKey
	if err == nil {
		row, keys, err = s.ConfigDB.Create(r.Context(), whoOf(r), kind, doc)
	} else if doc != nil {
		err = s.withChecks(r, kind, strings.TrimSpace(r.PostForm.Get("id")), doc, err)
	}
	if err != nil {
		e, known := httpx.ErrorOf(err)
		if !known || e.Status == http.StatusNotFound {
			return err
		}
		r = besideFields(r, kind, doc, strings.TrimSpace(r.PostForm.Get("doc")) != "", e)
		return s.renderConfigKind(w, r, e.Status, r.PostForm, e.Messages())
	}
	if len(keys) > 0 {
		return s.renderConfigObject(w, r, http.StatusCreated, row.Kind, row.ID, "", nil, keys)
	}
	http.Redirect(w, r, "/config/"+kind+"/"+url.PathEscape(row.ID), http.StatusSeeOther)
	return nil
}

// withChecks adds to formErr, the fields a form could not read, what the config's checks say
// of the document built from the others: every problem of a form at once, nothing saved.
func (s *Handler) withChecks(r *http.Request, kind, id string, doc []byte, formErr error) error {
	form, ok := invalid.As(formErr)
	if !ok {
		return formErr
	}
	if id == "" {
		id = config.ObjectID(doc)
	}
	if id == "" {
		return formErr
	}
	checked, known := httpx.ErrorOf(s.ConfigDB.Check(r.Context(), kind, id, doc))
	if checked == nil || !known || checked.Status != http.StatusBadRequest {
		return formErr
	}
	all := *checked
	all.Msg = form.Error() + "; " + checked.Msg
	all.Errors = append(form.Messages(), checked.Messages()...)
	all.Problems = append(append([]invalid.Problem(nil), form.Problems...), checked.Problems...)
	return &all
}

func whoOf(r *http.Request) configdb.Who {
	p, _ := httpx.PrincipalFrom(r.Context())
	return configdb.Who{Actor: p.Actor(), Remote: httpx.RemoteAddr(r)}
}

// besideFields marks r as the rendering of a refused form, e's problems named by the form's
// fields they are about (found in doc, the document the form built), for the page to show each
// beside its field and keep what was typed (refill).
func besideFields(r *http.Request, kind string, doc []byte, typed bool, e *httpx.Error) *http.Request {
	problems := fieldProblems(kind, doc, typed, e.Problems)
	var beside []invalid.Problem
	for _, p := range problems {
		if p.Field != "" && !strings.HasPrefix(p.Field, config.DatabasePrefix) {
			beside = append(beside, p)
		}
	}
	if len(beside) == 0 {
		return r
	}
	form := url.Values{}
	for k, v := range r.PostForm {
		if k != "csrf" {
			form[k] = v
		}
	}
	ee := *e
	ee.Problems = beside
	return r.WithContext(httpx.WithRefused(r.Context(), &httpx.Refused{Action: r.URL.Path, Form: form, Err: &ee}))
}

// formDocument builds an object's document from a form: its doc field when written, else the
// fields of the kind's own form.
func formDocument(kind string, f url.Values) ([]byte, error) {
	if doc := strings.TrimSpace(f.Get("doc")); doc != "" {
		return withFormID(doc, strings.TrimSpace(f.Get("id"))), nil
	}
	return buildDocument(kind, f, nil)
}

// withFormID puts the id of the form's own field into a document written without one, as its
// last line, so the lines typed keep their numbers in the errors; a document that is not a
// mapping of fields written one a line is left as typed, for its checks to say so.
func withFormID(doc, id string) []byte {
	if id == "" || config.ObjectID([]byte(doc)) != "" {
		return []byte(doc)
	}
	if blockMapping([]byte(doc)) == nil {
		return []byte(doc)
	}
	quoted, _ := json.Marshal(id) // a JSON string is a YAML scalar
	return []byte(doc + "\nid: " + string(quoted) + "\n")
}

// blockMapping is doc's mapping of fields when they are written one a line from the first
// column, so a field can be added as a last line; nil for anything else.
func blockMapping(doc []byte) *yaml.Node {
	var n yaml.Node
	if yaml.Unmarshal(doc, &n) != nil || len(n.Content) == 0 {
		return nil
	}
	root := n.Content[0]
	if root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 || root.Column != 1 {
		return nil
	}
	return root
}

// configObjectView is one object's page: read-only with where a file declares it, or its
// document to edit.
type configObjectView struct {
	Object api.ConfigObject
	// Shown is the object as YAML, credentials hidden (a file's) or as kept (the database's).
	Shown string
	// Doc is what the editor holds: the document, or what was typed when refused.
	Doc     string
	Errors  []string
	NewKeys []configdb.NewKey
	// Check is what "Check now" saw of the monitor as typed.
	Check *api.CheckResult
	// Integrations are a database service's, for their rotate buttons.
	Integrations []string
	// Fields is the kind's form filled with the object's values (or what was typed), nil
	// when the config in force does not hold it; YAMLOpen opens the YAML editor.
	Fields   *configForm
	YAMLOpen bool
}

// ConfigObjectPage answers GET /config/{kind}/{id}.
func (s *Handler) ConfigObjectPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderConfigObject(w, r, http.StatusOK, httpx.ConfigKind(r), r.PathValue("id"), "", nil, nil)
}

func (s *Handler) renderConfigObject(w http.ResponseWriter, r *http.Request, status int, kind, id, typed string, errs []string, keys []configdb.NewKey) error {
	return s.renderConfigObjectChecked(w, r, status, kind, id, typed, errs, keys, nil, nil)
}

// renderConfigObjectChecked shows an object's page; posted, when not nil, is a form posted
// from it, shown again as typed.
func (s *Handler) renderConfigObjectChecked(w http.ResponseWriter, r *http.Request, status int, kind, id, typed string, errs []string, keys []configdb.NewKey, check *api.CheckResult, posted url.Values) error {
	o, err := s.api.ConfigObjectOf(r, kind, id)
	if err != nil {
		return err
	}
	v := configObjectView{Object: o, Doc: o.YAML, Errors: errs, NewKeys: keys, Check: check}
	if typed != "" {
		v.Doc, v.YAMLOpen = typed, strings.TrimSpace(strings.ReplaceAll(typed, "\r\n", "\n")) != strings.TrimSpace(o.YAML)
	}
	if o.Editable() {
		f := posted
		if f == nil {
			f = formValues(s.Config.Get(), kind, id)
		}
		if f != nil {
			v.Fields = s.configFormOf(r, kind, f, true)
		}
	}
	if o.Editable() {
		v.Shown = o.YAML
	} else if b, err := yaml.Marshal(o.Object); err == nil {
		v.Shown = string(b)
	}
	if m, ok := o.Object.(map[string]any); ok && kind == "services" {
		ins, _ := m["integrations"].([]any)
		for _, in := range ins {
			im, _ := in.(map[string]any)
			t, _ := im["type"].(string)
			v.Integrations = append(v.Integrations, t)
		}
	}
	w.Header().Set("Cache-Control", "no-store") // a new key is shown once
	return s.pages.Render(w, r, status, "config_object.html", kindName(kind)+": "+id, v)
}

// UpdateConfigObject answers POST /config/{kind}/{id}: the editor's document replaces the
// object; a refusal shows it again as typed, with every problem.
func (s *Handler) UpdateConfigObject(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, httpx.MaxBody); err != nil {
		return err
	}
	kind, id, typed := httpx.ConfigKind(r), r.PathValue("id"), r.PostForm.Get("doc")
	doc, yamlEdited, err := s.editedDocument(r, kind, id)
	if err != nil {
		if e, known := httpx.ErrorOf(err); !known || e.Status == http.StatusNotFound {
			return err
		}
	}
	if checkNow(kind, r.PostForm) {
		res, errs, cerr := s.checkTyped(r, string(doc))
		if cerr != nil {
			return cerr
		}
		if err != nil {
			errs = []string{err.Error()}
		}
		return s.renderConfigObjectChecked(w, r, http.StatusOK, kind, id, typed, errs, nil, res, r.PostForm)
	}
	var keys []configdb.NewKey
	if err == nil {
		_, keys, err = s.ConfigDB.Update(r.Context(), whoOf(r), kind, id, doc)
	} else if doc != nil {
		err = s.withChecks(r, kind, id, doc, err)
	}
	if err != nil {
		e, known := httpx.ErrorOf(err)
		if !known || e.Status == http.StatusNotFound {
			return err
		}
		r = besideFields(r, kind, doc, yamlEdited, e)
		return s.renderConfigObjectChecked(w, r, e.Status, kind, id, typed, e.Messages(), nil, nil, r.PostForm)
	}
	if len(keys) > 0 {
		return s.renderConfigObject(w, r, http.StatusOK, kind, id, "", nil, keys)
	}
	http.Redirect(w, r, "/config/"+kind+"/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// editedDocument is the document an edit posts: the YAML editor's when it was changed (yaml
// true), else the form's fields merged into the object's document as the database holds it,
// so what the form does not show is kept.
func (s *Handler) editedDocument(r *http.Request, kind, id string) (doc []byte, yaml bool, err error) {
	// A browser posts a textarea's lines ended by CRLF.
	typed := strings.ReplaceAll(r.PostForm.Get("doc"), "\r\n", "\n")
	if !hasFormFields(r.PostForm) {
		// No field of a form was posted: the editor alone (an API client, a form of YAML).
		if strings.TrimSpace(typed) == "" {
			return nil, true, invalid.Field("doc", "write the object in YAML")
		}
		return []byte(typed), true, nil
	}
	row, err := s.ConfigDB.Get(r.Context(), kind, id)
	if errors.Is(err, configdb.ErrNotFound) {
		// Not the database's (a file's, or none): the change says why it cannot be made.
		doc, err = buildDocument(kind, r.PostForm, nil)
		return doc, false, err
	}
	if err != nil {
		return nil, false, err
	}
	if strings.TrimSpace(typed) != "" && strings.TrimSpace(typed) != strings.TrimSpace(string(row.Doc)) {
		return []byte(typed), true, nil
	}
	doc, err = buildDocument(kind, r.PostForm, row.Doc)
	return doc, false, err
}

// hasFormFields says whether a post holds the fields of a kind's form besides its editor.
func hasFormFields(f url.Values) bool {
	for k := range f {
		if k != "doc" && k != "csrf" && k != "check" {
			return true
		}
	}
	return false
}

// DeleteConfigObject answers POST /config/{kind}/{id}/delete.
func (s *Handler) DeleteConfigObject(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	kind, id := httpx.ConfigKind(r), r.PathValue("id")
	if err := s.ConfigDB.Delete(r.Context(), whoOf(r), kind, id); err != nil {
		e, known := httpx.ErrorOf(err)
		if !known || e.Status == http.StatusNotFound {
			return err
		}
		return s.renderConfigObject(w, r, e.Status, kind, id, "", e.Messages(), nil)
	}
	http.Redirect(w, r, "/config/"+kind, http.StatusSeeOther)
	return nil
}

// RotateIntegrationKey answers POST /config/services/{id}/integrations/{index}/rotate: the
// new key is shown once.
func (s *Handler) RotateIntegrationKey(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil {
		return httpx.Errorf(http.StatusNotFound, "integration %q not found: integrations are numbered from 0", r.PathValue("index"))
	}
	_, key, err := s.ConfigDB.RotateKey(r.Context(), whoOf(r), r.PathValue("id"), index)
	if err != nil {
		return err
	}
	return s.renderConfigObject(w, r, http.StatusOK, "services", r.PathValue("id"), "", nil, []configdb.NewKey{key})
}

// checkNow says whether a monitor's form asks to check the monitor as typed ("Check now")
// rather than to save it.
func checkNow(kind string, f url.Values) bool { return kind == "monitors" && f.Get("check") != "" }

// checkTyped runs the monitor as typed once, as POST /api/v1/monitors/check does: what it saw,
// or the problems of what was typed (shown as a refused form shows them).
func (s *Handler) checkTyped(r *http.Request, doc string) (*api.CheckResult, []string, error) {
	if strings.TrimSpace(doc) == "" {
		return nil, []string{"doc: write the monitor in YAML to check it"}, nil
	}
	res, err := s.api.CheckDefinition(r, []byte(doc))
	if err != nil {
		e, known := httpx.ErrorOf(err)
		if !known || e.Status >= 500 || e.Status == http.StatusTooManyRequests {
			return nil, nil, err
		}
		return nil, e.Messages(), nil
	}
	return &res, nil, nil
}
