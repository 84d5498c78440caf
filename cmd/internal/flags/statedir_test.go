package flags

import "testing"

func TestDefaultStateDir(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SLUICE_STATE_DIR": "/s", "XDG_STATE_HOME": "/x", "HOME": "/h"}, "/s"},
		{map[string]string{"XDG_STATE_HOME": "/x", "HOME": "/h"}, "/x/sluice"},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/sluice"},
	}
	for _, c := range cases {
		if got := DefaultStateDir(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: got %s, want %s", c.env, got, c.want)
		}
	}
}
