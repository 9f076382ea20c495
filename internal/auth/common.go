package auth

import (
	_ "embed"
	"sort"
	"strings"
	"sync"
)

// commonPasswords is the list attackers try first: see common-passwords.LICENSE for where it
// comes from. A password on it is refused whatever its length, as NIST SP 800-63B asks.
//
//go:embed common-passwords.txt
var commonPasswords string

var (
	commonOnce   sync.Once
	commonSorted []string
)

// IsCommonPassword reports whether p, in any case, is on the list of the most common passwords.
func IsCommonPassword(p string) bool {
	commonOnce.Do(func() {
		commonSorted = strings.Split(strings.TrimSpace(commonPasswords), "\n")
		for i, w := range commonSorted {
			commonSorted[i] = strings.ToLower(w)
		}
		sort.Strings(commonSorted)
	})
	p = strings.ToLower(p)
	i := sort.SearchStrings(commonSorted, p)
	return i < len(commonSorted) && commonSorted[i] == p
}
