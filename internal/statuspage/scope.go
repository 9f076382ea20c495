package statuspage

// Indicator is the page-level status of some of a page's components: the worst of them, and the
// impact of the unresolved incidents that touch them. A responder scoped to teams sees a page
// through the components of those teams only.
func Indicator(cs []Component, active []PublicIncident) string {
	worst, ids := Operational, map[string]bool{}
	for _, c := range cs {
		if c.Status.Rank() > worst.Rank() {
			worst = c.Status
		}
		ids[c.ID] = true
	}
	var touching []PublicIncident
	for _, pi := range active {
		for _, c := range pi.Components {
			if ids[c] {
				touching = append(touching, pi)
				break
			}
		}
	}
	ind, _ := indicator(worst, touching)
	return ind
}

// Why says, one line per component of cs that is not operational, why: the page's Why, for
// some of its components.
func Why(cs []Component) []string {
	out := []string{}
	for i := range cs {
		if cs[i].Status != Operational {
			out = append(out, cs[i].whyLine())
		}
	}
	return out
}

func (c *Component) whyLine() string { return c.Name + ": " + c.Reason }
