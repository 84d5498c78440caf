package loader

import (
	"fmt"
	"strings"
)

// Disabled reports whether name is held by a present file that says
// enabled: false — switched off on purpose, unlike a DAG whose file is
// missing, which the runner waits for.
func (l *Loader) Disabled(name string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	rec := l.reg.holder(name)
	return rec != nil && rec.good != nil && !rec.good.Enabled
}

// emptyOutageFrom is how many DAG files a source must have held for an
// empty listing of it to count as an outage rather than their deletion.
// A folder that was full of DAGs and lists nothing is an unmounted volume,
// a sync in progress or a wrong path far more often than a clean-up; and
// disabling every DAG at once is the costlier mistake. A deliberate
// clean-up of the last files leaves the source reporting the error, and
// the DAGs kept, until a file appears again.
const emptyOutageFrom = 3

// emptyOutage returns the error an empty complete listing of a source
// stands for, or nil: nil too when the source held fewer than
// emptyOutageFrom present files.
func (r *registry) emptyOutage(out scanOutcome) error {
	if out.partial || len(out.results) > 0 || len(out.incomplete) > 0 || len(out.deferred) > 0 {
		return nil
	}
	held := 0
	for ref, rec := range r.files {
		if ref.source == out.source && rec.present {
			held++
		}
	}
	if held < emptyOutageFrom {
		return nil
	}
	return fmt.Errorf("the source lists no DAG file where %d were: taken as an outage (an unmounted volume?), its DAGs are kept", held)
}

// folderOutages does for each subfolder what emptyOutage does for a whole
// source: a folder that exists, lists nothing at all and held
// emptyOutageFrom or more DAG files is a volume that went away from its
// mount point, so its files are not taken as deleted and the source says
// why. A folder removed, or emptied of its DAG files only, deletes them.
func (r *registry) folderOutages(out *scanOutcome) {
	if len(out.emptyFolders) == 0 || out.partial {
		return
	}
	empty := make(map[string]int, len(out.emptyFolders))
	for _, dir := range out.emptyFolders {
		empty[dir] = 0
	}
	for ref, rec := range r.files {
		if ref.source != out.source || !rec.present {
			continue
		}
		for i := strings.LastIndexByte(ref.key, '/'); i > 0; i = strings.LastIndexByte(ref.key[:i], '/') {
			if n, ok := empty[ref.key[:i+1]]; ok {
				empty[ref.key[:i+1]] = n + 1
				break
			}
		}
	}
	for _, dir := range out.emptyFolders {
		if held := empty[dir]; held >= emptyOutageFrom {
			out.incomplete = append(out.incomplete, dir)
			out.problems = append(out.problems, fmt.Sprintf("folder %s lists nothing where %d DAG files were: taken as an outage (an unmounted volume?), its DAGs are kept", dir, held))
		}
	}
}
