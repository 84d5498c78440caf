package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// versionChunk bounds the versions recorded in one transaction: each takes
// an advisory lock, and those fill PostgreSQL's shared lock table.
const versionChunk = 500

// RecordDAGVersions records versions, a chunk per transaction. Instances
// loading the same new file at once take a per-DAG transaction lock, so
// it gets one number.
func (s *Store) RecordDAGVersions(ctx context.Context, vs []api.DAGVersion, keep int) ([]store.Recorded, error) {
	if keep <= 0 {
		keep = api.DefaultKeepVersions
	}
	out := make([]store.Recorded, len(vs))
	for lo := 0; lo < len(vs); lo += versionChunk {
		hi := min(lo+versionChunk, len(vs))
		err := s.tx(ctx, func(tx pgx.Tx) error {
			for i := lo; i < hi; i++ {
				var err error
				if out[i], err = recordVersion(ctx, tx, vs[i], keep); err != nil {
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

func recordVersion(ctx context.Context, tx pgx.Tx, v api.DAGVersion, keep int) (store.Recorded, error) {
	if v.LastSeen.IsZero() {
		v.LastSeen = time.Now()
	}
	var r store.Recorded
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('dag_versions:' || $1, 0))", v.DAG); err != nil {
		return r, err
	}
	err := tx.QueryRow(ctx, "SELECT version FROM dag_versions WHERE dag = $1 AND sha256 = $2", v.DAG, v.SHA256).Scan(&r.Version)
	if err == nil {
		_, err = tx.Exec(ctx, "UPDATE dag_versions SET last_seen = GREATEST(last_seen, $1) WHERE dag = $2 AND version = $3",
			v.LastSeen.UnixNano(), v.DAG, r.Version)
		return r, err
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return r, err
	}
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) + 1 FROM dag_versions WHERE dag = $1", v.DAG).Scan(&r.Version); err != nil {
		return r, err
	}
	first := v.FirstSeen
	if first.IsZero() {
		first = v.LastSeen
	}
	o := store.OriginColumns(v.Origin)
	if _, err := tx.Exec(ctx, `INSERT INTO dag_versions (dag, version, sha256, source, content, first_seen, last_seen,
		origin_commit, origin_author, origin_subject, origin_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		v.DAG, r.Version, v.SHA256, v.Source, v.Content, first.UnixNano(), v.LastSeen.UnixNano(),
		o.Hash, o.Author, o.Subject, o.At); err != nil {
		return r, err
	}
	r.Created = true
	_, err = tx.Exec(ctx, `DELETE FROM dag_versions WHERE dag = $1
		AND version NOT IN (SELECT version FROM dag_versions WHERE dag = $1 ORDER BY last_seen DESC, version DESC LIMIT $2)
		AND version != coalesce((SELECT version FROM dag_pins WHERE dag = $1), 0)
		AND version NOT IN (SELECT dag_version FROM runs WHERE dag = $1 AND state IN ('queued', 'running') AND dag_version IS NOT NULL)`, v.DAG, keep)
	return r, err
}

// DAGVersions lists a DAG's versions without content, newest first.
func (s *Store) DAGVersions(ctx context.Context, dag string) ([]api.DAGVersion, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT dag, version, sha256, source, first_seen, last_seen,
		origin_commit, origin_author, origin_subject, origin_at FROM dag_versions
		WHERE dag = $1 ORDER BY version DESC`, dag)
	if err != nil {
		return nil, fmt.Errorf("listing versions of %q: %w", dag, err)
	}
	defer rows.Close()
	var out []api.DAGVersion
	for rows.Next() {
		var (
			v           api.DAGVersion
			first, last int64
			o           store.Origin
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
	db, err := s.q()
	if err != nil {
		return api.DAGVersion{}, err
	}
	v := api.DAGVersion{DAG: dag, Version: version}
	var (
		first, last int64
		o           store.Origin
	)
	err = db.QueryRow(ctx, `SELECT sha256, source, content, first_seen, last_seen,
		origin_commit, origin_author, origin_subject, origin_at FROM dag_versions
		WHERE dag = $1 AND version = $2`, dag, version).Scan(&v.SHA256, &v.Source, &v.Content, &first, &last, &o.Hash, &o.Author, &o.Subject, &o.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return api.DAGVersion{}, fmt.Errorf("version %d of %q is %w", version, dag, store.ErrVersionNotFound)
	}
	if err != nil {
		return api.DAGVersion{}, fmt.Errorf("reading version %d of %q: %w", version, dag, err)
	}
	v.FirstSeen, v.LastSeen, v.Origin = time.Unix(0, first), time.Unix(0, last), o.Commit()
	return v, nil
}

// PinDAG pins a stored version of a DAG.
func (s *Store) PinDAG(ctx context.Context, dag string, p api.DAGPin) (changed bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		changed = false
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM dag_versions WHERE dag = $1 AND version = $2 FOR SHARE)",
			dag, p.Version).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("version %d of %q is %w", p.Version, dag, store.ErrVersionNotFound)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO dag_pins (dag, version, pinned_by, pinned_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (dag) DO UPDATE SET version = excluded.version, pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at
			WHERE dag_pins.version != excluded.version`, dag, p.Version, p.By, p.At.UnixNano())
		if err != nil {
			return err
		}
		changed = tag.RowsAffected() == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("pinning %q: %w", dag, err)
	}
	return changed, nil
}

// UnpinDAG forgets a DAG's pin; it reports false when there was none.
func (s *Store) UnpinDAG(ctx context.Context, dag string) (changed bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM dag_pins WHERE dag = $1", dag)
		changed = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("unpinning %q: %w", dag, err)
	}
	return changed, nil
}

// PinnedDAGs returns every pin.
func (s *Store) PinnedDAGs(ctx context.Context) (map[string]api.DAGPin, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT dag, version, pinned_by, pinned_at FROM dag_pins")
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
