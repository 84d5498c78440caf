package dag

import (
	"strings"
	"testing"
)

// TestStarlarkLanguage checks that the sandbox's rewrites keep ordinary
// scripts working: each script sets desc, which becomes the description.
func TestStarlarkLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, script, want string
	}{
		{"repeat string", `desc = "ab" * 3`, "ababab"},
		{"repeat list", `desc = str([0] * 3)`, "[0, 0, 0]"},
		{"repeat int times", `desc = str(3 * 4)`, "12"},
		{"repeat count first", `desc = 2 * "xy"`, "xyxy"},
		{"augmented repeat", "l = [1]\nl *= 2\ndesc = str(l)", "[1, 1]"},
		{"augmented repeat of an index", "l = [[1]]\nl[0] *= 2\ndesc = str(l)", "[[1, 1]]"},
		{"augmented repeat in a function", "def f(x):\n    x *= 3\n    return x\ndesc = f(\"a\")", "aaa"},
		{"join", `desc = "-".join(["a", "b", "c"])`, "a-b-c"},
		{"join held as a value", "j = \",\".join\ndesc = j([\"x\", \"y\"])", "x,y"},
		{"replace", `desc = "a.b.c".replace(".", "/")`, "a/b/c"},
		{"replace with count", `desc = "aaa".replace("a", "b", 2)`, "bba"},
		{"dict methods untouched", "d = {\"k\": \"v\"}\ndesc = d.get(\"k\") + str(d.keys())", `v["k"]`},
		{"missing method", "desc = \"x\"\nok = hasattr(desc, \"nope\")\ndesc = str(ok)", "False"},
		{"range", `desc = str(list(range(2, 8, 2)))`, "[2, 4, 6]"},
		{"top-level loop and if", "desc = \"\"\nfor i in range(3):\n    if i != 1:\n        desc += str(i)", "02"},
		{"while", "n = 0\nwhile n < 5:\n    n += 1\ndesc = str(n)", "5"},
		{"set", `desc = str(sorted(set([3, 1, 3])))`, "[1, 3]"},
		{"lambda and comprehension", "f = lambda x: x * 2\ndesc = str([f(i) for i in range(3)])", "[0, 2, 4]"},
		{"format", `desc = "%s-%d" % ("a", 1)`, "a-1"},
		{"env default", `desc = env("SLUICE_TEST_UNSET", "fallback")`, "fallback"},
		{"env set", `desc = env("SLUICE_DAG_SET", "fallback")`, "from env"},
		{"env allowed by name", `desc = env("TEAM", "fallback")`, "from env"},
		{"env outside the allow-list", `desc = env("AWS_SECRET_ACCESS_KEY", "fallback")`, "fallback"},
		{"env bare prefix", `desc = env("SLUICE_DAG_", "fallback")`, "fallback"},
		{"env default None", `desc = str(env("SLUICE_TEST_UNSET"))`, "None"},
		{"print is silent", "print(\"hello\")\ndesc = \"ok\"", "ok"},
	}
	env := func(name string) (string, bool) {
		switch name {
		case "SLUICE_DAG_SET", "TEAM", "AWS_SECRET_ACCESS_KEY", "SLUICE_DAG_":
			return "from env", true
		}
		return "", false
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := tt.script + "\ndag = {\"description\": desc, \"nodes\": [{\"id\": \"a\", \"type\": \"sluice.noop\", \"config\": {}}]}\n"
			d, err := Parse("lang.star", []byte(src), Options{Env: env, EnvAllow: []string{"TEAM"}})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d.Description != tt.want {
				t.Errorf("description = %q, want %q", d.Description, tt.want)
			}
		})
	}
}

func TestStarlarkGuards(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, script, want string
	}{
		{"repeat over the limit", `x = "ab" * 600000`, "string * 600000 is over the limit of 1048576"},
		{"repeat count first over the limit", `x = 2000000 * [0]`, "list * 2000000 is over the limit"},
		{"tuple repeat", `x = (1, 2) * 1000000`, "tuple * 1000000 is over the limit"},
		{"join over the limit", `x = ("y" * 1000).join(["a"] * 2000)`, "join would make a string of"},
		{"replace over the limit", `x = ("a" * 2000).replace("a", "b" * 1000)`, "replace would make a string of 2000000 bytes"},
		{"range over the limit", `x = range(2000000)`, "range of 2000000 elements is over the limit"},
		{"a bad operand still fails as usual", `x = "a" * "b"`, "unknown binary op: string * string"},
		{"unknown attribute", `x = [1].join(",")`, "list has no .join field or method"},
		{"load", "load(\"x.star\", \"y\")", "load() is not allowed"},
		{"recursion", "def f():\n    return f()\nx = f()", "called recursively"},
		{"bytes", `x = b"\xff"`, "a bytes cannot be part of a DAG"},
		{"NaN", `x = float("nan")`, "cannot represent nan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := tt.script + "\ndag = {\"description\": x, \"nodes\": [{\"id\": \"a\", \"type\": \"sluice.noop\", \"config\": {}}]}\n"
			_, err := Parse("guard.star", []byte(src), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			checkErrors(t, "guard.star", AsErrors("guard.star", err))
		})
	}
}

// TestStarlarkEnvLeak is the adversarial file of issue 18: a DAG file that
// fails with an engine secret in its message must not see the secret.
func TestStarlarkEnvLeak(t *testing.T) {
	t.Parallel()
	const secret = "wJalrXUtnFEMI-K7MDENG-EXAMPLEKEY"
	env := func(name string) (string, bool) {
		if name == "AWS_SECRET_ACCESS_KEY" {
			return secret, true
		}
		return "", false
	}
	_, err := Parse("leak.star", []byte(`fail("leak:" + str(env("AWS_SECRET_ACCESS_KEY")))`), Options{Env: env})
	if err == nil || !strings.Contains(err.Error(), "leak:None") {
		t.Fatalf("err = %v, want the file's own failure with env() = None", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the secret reached the error: %v", err)
	}
}
