package configdb

import (
	"context"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
)

// Objects reads the config objects db holds, for a program that has no Store yet: nines serve
// checks its files with them before it builds anything, since the files may name them.
func Objects(ctx context.Context, db *store.DB) ([]config.Object, error) {
	rows, err := (&Store{db: db}).List(ctx)
	if err != nil {
		return nil, err
	}
	return objectsOf(rows), nil
}
