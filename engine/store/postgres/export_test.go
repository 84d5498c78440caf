package postgres

// GroupStats reports, per group of s (creates, puts, finishes), the
// statements sent and the calls they carried.
func GroupStats(s *Store) (sent, carried [3]int64) {
	for i, g := range []interface{ stats() (int64, int64) }{s.creates, s.puts, s.finishes} {
		sent[i], carried[i] = g.stats()
	}
	return sent, carried
}

func (g *group[Req]) stats() (int64, int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent, g.carried
}

// SetGroups bounds s's groups: statements in flight, calls a statement
// carries (1: every call its own statement, as before group commit).
func SetGroups(s *Store, flights, max int) {
	for _, g := range []interface{ set(int, int) }{s.creates, s.puts, s.finishes} {
		g.set(flights, max)
	}
}

func (g *group[Req]) set(flights, max int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.flights, g.max = flights, max
}

// SetSyncClaims makes s flush each claim under the claim lock, as before
// flushClaimSQL.
func SetSyncClaims(s *Store) { s.syncClaims = true }
