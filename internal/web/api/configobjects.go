package api

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// ConfigObject is one config object as the API and the pages show it: where it comes from (a
// file, read-only here, or the database, editable) and what it holds.
type ConfigObject struct {
	Kind   string       `json:"kind"`
	ID     string       `json:"id"`
	Origin ConfigOrigin `json:"origin"`
	// Object is the object's fields as written; integration keys and other credentials a
	// file holds are left out.
	Object any `json:"object"`
	// YAML is a database object's document in the config's own format (keys as their hashes);
	// empty for one a file declares.
	YAML string `json:"yaml,omitempty"`
}

// ConfigOrigin says where an object is declared: in a file (source "file", at file:line:col)
// or in the database (source "database", with its version and who made and changed it).
type ConfigOrigin struct {
	Source    string     `json:"source"`
	At        string     `json:"at,omitempty"`
	File      string     `json:"file,omitempty"`
	Line      int        `json:"line,omitempty"`
	Version   int64      `json:"version,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedBy string     `json:"updated_by,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// Editable says whether the object is the database's, changed in the web app and the API.
func (o ConfigObject) Editable() bool { return o.Origin.Source == "database" }

// ConfigObjects lists the objects of kind: the files' first, in file order, then the
// database's, by id.
func (s *Handler) ConfigObjects(r *http.Request, kind string) ([]ConfigObject, error) {
	if err := configdb.CheckKind(kind); err != nil {
		return nil, err
	}
	out := []ConfigObject{}
	rc := s.guard.Reach(r)
	for _, d := range s.Config.Get().Declared() {
		if d.Kind == kind && rc.ConfigObject(kind, d.ID) {
			out = append(out, declaredObject(d))
		}
	}
	rows, err := s.ConfigDB.List(r.Context())
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		if row.Kind == kind && rc.ConfigObject(kind, row.ID) {
			out = append(out, databaseObject(row))
		}
	}
	return out, nil
}

// ConfigObjectOf finds one object of kind, declared or held.
func (s *Handler) ConfigObjectOf(r *http.Request, kind, id string) (ConfigObject, error) {
	objs, err := s.ConfigObjects(r, kind)
	if err != nil {
		return ConfigObject{}, err
	}
	for _, o := range objs {
		if o.ID == id {
			return o, nil
		}
	}
	_, err = s.ConfigDB.Get(r.Context(), kind, id) // says it was not found, by kind
	return ConfigObject{}, err
}

func declaredObject(d config.Declared) ConfigObject {
	return ConfigObject{Kind: d.Kind, ID: d.ID, Object: redact(d.Value, ""),
		Origin: ConfigOrigin{Source: "file", At: d.Pos.String(), File: d.Pos.File, Line: d.Pos.Line}}
}

func databaseObject(row configdb.Row) ConfigObject {
	created, updated := row.CreatedAt, row.UpdatedAt
	var v any
	_ = yamlValue(row.Doc, &v)
	return ConfigObject{Kind: row.Kind, ID: row.ID, Object: redact(v, ""), YAML: string(row.Doc),
		Origin: ConfigOrigin{Source: "database", Version: row.Version, CreatedBy: row.CreatedBy, CreatedAt: &created,
			UpdatedBy: row.UpdatedBy, UpdatedAt: &updated}}
}

// secretFields are the fields whose values are credentials: shown as "(hidden)".
var secretFields = map[string]bool{"key": true, "ping_key": true, "password": true, "token": true, "secret": true, "uuid": true}

// secretMaps are the fields whose every value is a credential: a monitor's request headers.
var secretMaps = map[string]bool{"headers": true}

// redact copies v with credentials hidden; maps become map[string]any (JSON has string keys).
func redact(v any, field string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if secretMaps[field] {
				out[k] = "(hidden)"
				continue
			}
			out[k] = redact(x, k)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			ks, _ := k.(string)
			out[ks] = redact(x, ks)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = redact(x, field)
		}
		return out
	}
	if secretFields[field] || strings.HasSuffix(field, "_secret") || strings.HasSuffix(field, "_token") {
		return "(hidden)"
	}
	return v
}

// configDoc reads an object's document from the body: JSON, or YAML when the request says
// Content-Type: application/yaml (JSON is YAML too).
func configDoc(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := httpx.ReadBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, invalid.Field("", "the body is the object, in JSON (or YAML with Content-Type: application/yaml)")
	}
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return nil, invalid.Field("", "the object is text: UTF-8 without NUL bytes")
	}
	return b, nil
}

func whoOf(r *http.Request) configdb.Who {
	p, _ := httpx.PrincipalFrom(r.Context())
	return configdb.Who{Actor: p.Actor(), Remote: httpx.RemoteAddr(r)}
}

// ListConfigObjects answers GET /api/v1/config/{kind}.
func (s *Handler) ListConfigObjects(w http.ResponseWriter, r *http.Request) error {
	objs, err := s.ConfigObjects(r, httpx.ConfigKind(r))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"kind": httpx.ConfigKind(r), "objects": objs})
	return nil
}

// GetConfigObject answers GET /api/v1/config/{kind}/{id}.
func (s *Handler) GetConfigObject(w http.ResponseWriter, r *http.Request) error {
	o, err := s.ConfigObjectOf(r, httpx.ConfigKind(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

// ConfigChange is the answer to a change: the object as it now is, and the integration keys
// made for it (shown this once: only their hashes are kept).
type ConfigChange struct {
	Object          ConfigObject      `json:"object"`
	IntegrationKeys []configdb.NewKey `json:"integration_keys,omitempty"`
}

// CreateConfigObject answers POST /api/v1/config/{kind}.
func (s *Handler) CreateConfigObject(w http.ResponseWriter, r *http.Request) error {
	doc, err := configDoc(w, r)
	if err != nil {
		return err
	}
	row, keys, err := s.ConfigDB.Create(r.Context(), whoOf(r), httpx.ConfigKind(r), doc)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, ConfigChange{Object: databaseObject(row), IntegrationKeys: keys})
	return nil
}

// UpdateConfigObject answers PUT /api/v1/config/{kind}/{id}.
func (s *Handler) UpdateConfigObject(w http.ResponseWriter, r *http.Request) error {
	doc, err := configDoc(w, r)
	if err != nil {
		return err
	}
	row, keys, err := s.ConfigDB.Update(r.Context(), whoOf(r), httpx.ConfigKind(r), r.PathValue("id"), doc)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ConfigChange{Object: databaseObject(row), IntegrationKeys: keys})
	return nil
}

// DeleteConfigObject answers DELETE /api/v1/config/{kind}/{id}.
func (s *Handler) DeleteConfigObject(w http.ResponseWriter, r *http.Request) error {
	if err := s.ConfigDB.Delete(r.Context(), whoOf(r), httpx.ConfigKind(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RotateIntegrationKey answers POST /api/v1/config/services/{id}/integrations/{index}/rotate.
func (s *Handler) RotateIntegrationKey(w http.ResponseWriter, r *http.Request) error {
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil {
		return httpx.Errorf(http.StatusNotFound, "integration %q not found: integrations are numbered from 0", r.PathValue("index"))
	}
	row, key, err := s.ConfigDB.RotateKey(r.Context(), whoOf(r), r.PathValue("id"), index)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ConfigChange{Object: databaseObject(row), IntegrationKeys: []configdb.NewKey{key}})
	return nil
}

// ReloadConfig answers POST /api/v1/config/reload: the files are read again and, merged with
// the database's objects, put in force if valid; a refusal lists every error at its
// file:line:col and changes nothing.
func (s *Handler) ReloadConfig(w http.ResponseWriter, r *http.Request) error {
	if err := s.Config.ReloadFiles(); err != nil {
		return configdb.Refused(err)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"reloaded": true, "files": s.Config.Get().Files})
	return nil
}

// ExportConfig answers GET /api/v1/config/export: the database's objects as YAML of the
// config's own format, to move into the files.
func (s *Handler) ExportConfig(w http.ResponseWriter, r *http.Request) error {
	out, err := s.ConfigDB.Export(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	_, err = w.Write(out)
	return err
}

func yamlValue(doc []byte, v *any) error { return yaml.Unmarshal(doc, v) }
