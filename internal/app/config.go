package app

import (
	"context"
	"log/slog"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/people"
	"github.com/nines-dev/nines/internal/store"
)

// LoadConfig reads the config files at path and puts them in force with the config objects db
// holds, checked together as nines runs them: the files may name objects made in nines, and
// whom a policy reaches counts what people verified on their profile (people made in nines
// have only that). nines serve starts on what it returns.
func LoadConfig(ctx context.Context, path string, db *store.DB, log *slog.Logger) (*config.Live, error) {
	files, err := config.Read(path)
	if err != nil {
		return nil, err
	}
	objs, err := configdb.Objects(ctx, db)
	if err != nil {
		return nil, err
	}
	live := config.NewLive(files)
	live.SetOwnMethods(ownMethods(people.New(db, clock.Real{}), log))
	if err := live.SetObjects(objs); err != nil {
		return nil, err
	}
	live.SetPath(path)
	return live, nil
}

// ownMethods completes a person with the contact methods and rules they verified on their
// profile, for the config's checks of whom a policy reaches.
func ownMethods(p *people.Service, log *slog.Logger) func(*config.User) *config.User {
	return func(u *config.User) *config.User {
		w, err := p.With(context.Background(), u)
		if err != nil {
			log.Error("reading a person's own contact methods to check whom a policy reaches; counting the config's only", "user", u.ID, "err", err)
			return u
		}
		return w
	}
}
