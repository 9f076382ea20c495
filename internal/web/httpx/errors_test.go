package httpx_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nines-dev/nines/internal/web/httpx"
)

// A transaction PostgreSQL rolled back to break a deadlock or a serialization conflict wrote
// nothing: it is answered 503 with Retry-After, never as an internal error.
func TestATransactionRolledBackByAConflictIsAnswered503(t *testing.T) {
	for _, code := range []string{"40P01", "40001"} {
		err := fmt.Errorf("snooze incident 5: %w", &pgconn.PgError{Code: code, Message: "deadlock detected"})
		e, known := httpx.ErrorOf(err)
		if e.Status != http.StatusServiceUnavailable || e.RetryAfter == 0 || known {
			t.Errorf("SQLSTATE %s: %d retry %d known %v, want 503 with Retry-After, logged", code, e.Status, e.RetryAfter, known)
		}
	}
}
