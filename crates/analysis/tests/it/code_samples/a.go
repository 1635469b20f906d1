package server

import (
	"fmt"
	"net/http"
)

// Server serves.
type Server struct{ port int }

type Handler interface{ Handle() }

const Limit = 3

// Run runs the server.
func (s *Server) Run() error {
	for i := 0; i < 3; i++ {
		if i > 1 && s.port > 0 {
			fmt.Println(i)
		}
	}
	switch s.port {
	case 80:
		return nil
	default:
		return http.ListenAndServe(":80", nil)
	}
}

func helper() {}
