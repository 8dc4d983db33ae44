package main

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sportello/sportello/bot"
)

//go:embed sportello.yaml
var defaultConfig []byte

// Config is everything Sportello reads from the environment and the optional YAML file.
type Config struct {
	HTTPAddr    string // SPORTELLO_HTTP_ADDR
	DataDir     string // SPORTELLO_DATA
	RedisURL    string // REDIS_URL
	RedisPrefix string // SPORTELLO_REDIS_PREFIX
	LogLevel    string // SPORTELLO_LOG_LEVEL

	TelegramToken         string // TELEGRAM_TOKEN
	TelegramAPIURL        string // TELEGRAM_API_URL
	TelegramWebhookURL    string // TELEGRAM_WEBHOOK_URL
	TelegramWebhookSecret string // TELEGRAM_WEBHOOK_SECRET
	DiscordToken          string // DISCORD_TOKEN
	DiscordAPIURL         string // DISCORD_API_URL

	File FileConfig // SPORTELLO_CONFIG, over the built-in sportello.yaml
}

// FileConfig is the YAML configuration: desks, languages, office hours, retention.
type FileConfig struct {
	DefaultDesk string       `yaml:"default_desk"`
	Languages   []string     `yaml:"languages"`
	Desks       []DeskConfig `yaml:"desks"`
	Retention   struct {
		Sessions    time.Duration `yaml:"sessions"`
		Transcripts time.Duration `yaml:"transcripts"`
		Tickets     time.Duration `yaml:"tickets"`
		Dedupe      time.Duration `yaml:"dedupe"`
	} `yaml:"retention"`
	Flood struct {
		Limit  int           `yaml:"limit"`
		Window time.Duration `yaml:"window"`
	} `yaml:"flood"`
}

// DeskConfig is one desk with its office hours and staff capacity.
type DeskConfig struct {
	bot.DeskInfo `yaml:",inline"`
	Hours        Hours `yaml:"hours"`
	Capacity     int   `yaml:"capacity"` // conversations staff can take at once
}

// Hours are a desk's office hours.
type Hours struct {
	Timezone    string              `yaml:"timezone"`
	Weekly      map[string][]string `yaml:"weekly"` // mon..sun -> ["09:00-13:00"]
	ReplyWithin time.Duration       `yaml:"reply_within"`
}

// LoadConfig reads the environment (getenv) and the YAML file it names.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		HTTPAddr:              or(getenv("SPORTELLO_HTTP_ADDR"), ":8080"),
		DataDir:               or(getenv("SPORTELLO_DATA"), "./data"),
		RedisURL:              getenv("REDIS_URL"),
		RedisPrefix:           or(getenv("SPORTELLO_REDIS_PREFIX"), "sportello:"),
		LogLevel:              or(getenv("SPORTELLO_LOG_LEVEL"), "info"),
		TelegramToken:         getenv("TELEGRAM_TOKEN"),
		TelegramAPIURL:        or(getenv("TELEGRAM_API_URL"), "https://api.telegram.org"),
		TelegramWebhookURL:    getenv("TELEGRAM_WEBHOOK_URL"),
		TelegramWebhookSecret: getenv("TELEGRAM_WEBHOOK_SECRET"),
		DiscordToken:          getenv("DISCORD_TOKEN"),
		DiscordAPIURL:         getenv("DISCORD_API_URL"),
	}
	if err := yaml.Unmarshal(defaultConfig, &c.File); err != nil {
		return c, fmt.Errorf("built-in config: %w", err)
	}
	if path := getenv("SPORTELLO_CONFIG"); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read SPORTELLO_CONFIG: %w", err)
		}
		var override FileConfig
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&override); err != nil {
			return c, fmt.Errorf("parse %s: %w", path, err)
		}
		if err := yaml.Unmarshal(raw, &c.File); err != nil {
			return c, fmt.Errorf("parse %s: %w", path, err)
		}
		if override.Desks != nil {
			c.File.Desks = override.Desks
		}
	}
	return c, c.validate()
}

func (c Config) validate() error {
	seen := map[string]bool{}
	for _, d := range c.File.Desks {
		if d.ID == "" || len(d.Jurisdictions) == 0 {
			return fmt.Errorf("config: every desk needs an id and jurisdictions")
		}
		if seen[d.ID] {
			return fmt.Errorf("config: desk %q twice", d.ID)
		}
		seen[d.ID] = true
	}
	if !seen[c.File.DefaultDesk] {
		return fmt.Errorf("config: default_desk %q is not a desk", c.File.DefaultDesk)
	}
	if c.TelegramWebhookURL != "" && c.TelegramWebhookSecret == "" {
		return fmt.Errorf("config: TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET")
	}
	return nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
