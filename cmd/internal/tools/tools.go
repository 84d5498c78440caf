//go:build tools

// Package tools pins the project's dependencies in go.mod before every package
// that uses them exists, so parallel work never races on `go get`.
package tools

import (
	_ "github.com/IBM/sarama"
	_ "github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/lambda"
	_ "github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/cenkalti/backoff/v5"
	_ "github.com/charmbracelet/bubbles/help"
	_ "github.com/charmbracelet/bubbles/key"
	_ "github.com/charmbracelet/bubbles/spinner"
	_ "github.com/charmbracelet/bubbles/textinput"
	_ "github.com/charmbracelet/bubbles/viewport"
	_ "github.com/charmbracelet/bubbletea"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/charmbracelet/wish"
	_ "github.com/charmbracelet/wish/bubbletea"
	_ "github.com/charmbracelet/x/exp/teatest"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-github/v66/github"
	_ "github.com/johannesboyne/gofakes3"
	_ "github.com/johannesboyne/gofakes3/backend/s3mem"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/robfig/cron/v3"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "go.starlark.net/starlark"
	_ "golang.org/x/crypto/ssh"
	_ "gonum.org/v1/gonum/graph/network"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
