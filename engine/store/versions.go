package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// RecordDAGVersions records versions in one transaction; see Versions.
func (s *Store) RecordDAGVersions(ctx context.Context, vs []api.DAGVersion, keep int) ([]Recorded, error) {
	if keep <= 0 {
		keep = api.DefaultKeepVersions
	}
	out := make([]Recorded, len(vs))
	// In chunks: the one writer is not held from the runs' writes for
	// the second 10,000 DAGs take.
	for lo := 0; lo < len(vs); lo += versionChunk {
		hi := min(lo+versionChunk, len(vs))
		err := s.write(ctx, func(tx *sql.Tx) error {
			for i := lo; i < hi; i++ {
				var err error
				if out[i], err = s.recordVersion(ctx, tx, vs[i], keep); err != nil {
					return fmt.Errorf("recording a version of %q: %w", vs[i].DAG, err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// versionChunk is how many versions one write transaction records.
const versionChunk = 500

func (s *Store) recordVersion(ctx context.Context, tx *sql.Tx, v api.DAGVersion, keep int) (Recorded, error) {
	if v.LastSeen.IsZero() {
		v.LastSeen = time.Now()
	}
	var r Recorded
	find, err := s.prepared(ctx, "SELECT version FROM dag_versions WHERE dag = ? AND sha256 = ?")
	if err != nil {
		return r, err
	}
	err = tx.StmtContext(ctx, find).QueryRowContext(ctx, v.DAG, v.SHA256).Scan(&r.Version)
	if err == nil {
		_, err = s.exec(ctx, tx, "UPDATE dag_versions SET last_seen = max(last_seen, ?) WHERE dag = ? AND version = ?",
			v.LastSeen.UnixNano(), v.DAG, r.Version)
		return r, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return r, err
	}
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) + 1 FROM dag_versions WHERE dag = ?", v.DAG).Scan(&r.Version); err != nil {
		return r, err
	}
	first := v.FirstSeen
	if first.IsZero() {
		first = v.LastSeen
	}
	o := OriginColumns(v.Origin)
	if _, err := s.exec(ctx, tx, `INSERT INTO dag_versions (dag, version, sha256, source, content, first_seen, last_seen,
		origin_commit, origin_author, origin_subject, origin_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.DAG, r.Version, v.SHA256, v.Source, v.Content, first.UnixNano(), v.LastSeen.UnixNano(),
		o.Hash, o.Author, o.Subject, o.At); err != nil {
		return r, err
	}
	r.Created = true
	_, err = s.exec(ctx, tx, `DELETE FROM dag_versions WHERE dag = ?1
		AND version NOT IN (SELECT version FROM dag_versions WHERE dag = ?1 ORDER BY last_seen DESC, version DESC LIMIT ?2)
		AND version != coalesce((SELECT version FROM dag_pins WHERE dag = ?1), 0)
		AND version NOT IN (SELECT dag_version FROM runs WHERE dag = ?1 AND state IN ('queued', 'running') AND dag_version IS NOT NULL)`, v.DAG, keep)
	return r, err
}

// DAGVersions lists a DAG's versions without content, newest first.
func (s *Store) DAGVersions(ctx context.Context, dag string) ([]api.DAGVersion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT dag, version, sha256, source, first_seen, last_seen,
		origin_commit, origin_author, origin_subject, origin_at FROM dag_versions
		WHERE dag = ? ORDER BY version DESC`, dag)
	if err != nil {
		return nil, fmt.Errorf("listing versions of %q: %w", dag, err)
	}
	defer rows.Close()
	var out []api.DAGVersion
	for rows.Next() {
		var (
			v           api.DAGVersion
			first, last int64
			o           Origin
		)
		if err := rows.Scan(&v.DAG, &v.Version, &v.SHA256, &v.Source, &first, &last, &o.Hash, &o.Author, &o.Subject, &o.At); err != nil {
			return nil, fmt.Errorf("listing versions of %q: %w", dag, err)
		}
		v.FirstSeen, v.LastSeen, v.Origin = time.Unix(0, first), time.Unix(0, last), o.Commit()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing versions of %q: %w", dag, err)
	}
	return out, nil
}

// DAGVersion returns one version with its content.
func (s *Store) DAGVersion(ctx context.Context, dag string, version int) (api.DAGVersion, error) {
	v := api.DAGVersion{DAG: dag, Version: version}
	var (
		first, last int64
		o           Origin
	)
	err := s.db.QueryRowContext(ctx, `SELECT sha256, source, content, first_seen, last_seen,
		origin_commit, origin_author, origin_subject, origin_at FROM dag_versions
		WHERE dag = ? AND version = ?`, dag, version).Scan(&v.SHA256, &v.Source, &v.Content, &first, &last, &o.Hash, &o.Author, &o.Subject, &o.At)
	if errors.Is(err, sql.ErrNoRows) {
		return api.DAGVersion{}, fmt.Errorf("version %d of %q is %w", version, dag, ErrVersionNotFound)
	}
	if err != nil {
		return api.DAGVersion{}, fmt.Errorf("reading version %d of %q: %w", version, dag, err)
	}
	v.FirstSeen, v.LastSeen, v.Origin = time.Unix(0, first), time.Unix(0, last), o.Commit()
	return v, nil
}

// PinDAG pins a stored version of a DAG.
func (s *Store) PinDAG(ctx context.Context, dag string, p api.DAGPin) (changed bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		changed = false
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM dag_versions WHERE dag = ? AND version = ?", dag, p.Version).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("version %d of %q is %w", p.Version, dag, ErrVersionNotFound)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO dag_pins (dag, version, pinned_by, pinned_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (dag) DO UPDATE SET version = excluded.version, pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at
			WHERE dag_pins.version != excluded.version`, dag, p.Version, p.By, p.At.UnixNano())
		if err != nil {
			return err
		}
		n64, _ := res.RowsAffected()
		changed = n64 == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("pinning %q: %w", dag, err)
	}
	return changed, nil
}

// UnpinDAG forgets a DAG's pin; it reports false when there was none.
func (s *Store) UnpinDAG(ctx context.Context, dag string) (changed bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM dag_pins WHERE dag = ?", dag)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		changed = n == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("unpinning %q: %w", dag, err)
	}
	return changed, nil
}

// PinnedDAGs returns every pin.
func (s *Store) PinnedDAGs(ctx context.Context) (map[string]api.DAGPin, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT dag, version, pinned_by, pinned_at FROM dag_pins")
	if err != nil {
		return nil, fmt.Errorf("reading pinned dags: %w", err)
	}
	defer rows.Close()
	out := map[string]api.DAGPin{}
	for rows.Next() {
		var (
			name string
			p    api.DAGPin
			at   int64
		)
		if err := rows.Scan(&name, &p.Version, &p.By, &at); err != nil {
			return nil, fmt.Errorf("reading pinned dags: %w", err)
		}
		p.At = time.Unix(0, at)
		out[name] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading pinned dags: %w", err)
	}
	return out, nil
}

// Origin is a DAG version's origin as the dag_versions columns hold it:
// empty strings and zero for a version from a source without commits.
type Origin struct {
	Hash, Author, Subject string
	At                    int64 // the commit's author time, Unix nanoseconds
}

// OriginColumns is c as columns.
func OriginColumns(c *api.Commit) Origin {
	if c == nil {
		return Origin{}
	}
	o := Origin{Hash: c.Hash, Author: c.Author, Subject: c.Subject}
	if !c.When.IsZero() {
		o.At = c.When.UnixNano()
	}
	return o
}

// Commit is the origin for the read model; nil when there is none.
func (o Origin) Commit() *api.Commit {
	if o.Hash == "" {
		return nil
	}
	c := &api.Commit{Hash: o.Hash, Short: o.Hash[:min(7, len(o.Hash))], Author: o.Author, Subject: o.Subject}
	if o.At != 0 {
		c.When = time.Unix(0, o.At)
	}
	return c
}
