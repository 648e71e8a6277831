// Pins staticcheck for `make check`. A module of its own so the linter's
// dependencies stay out of livecdn's go.mod; go.sum verifies what it builds.
module github.com/livecdn/livecdn/tools/staticcheck

go 1.26.6

tool honnef.co/go/tools/cmd/staticcheck

require (
	github.com/BurntSushi/toml v1.4.1-0.20240526193622-a339e1f7089c // indirect
	golang.org/x/exp/typeparams v0.0.0-20231108232855-2478ac86f678 // indirect
	golang.org/x/mod v0.23.0 // indirect
	golang.org/x/sync v0.11.0 // indirect
	golang.org/x/tools v0.30.0 // indirect
	honnef.co/go/tools v0.6.1 // indirect
)
