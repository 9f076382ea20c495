package ui

import (
	"encoding/csv"
	"io"
	"strconv"
)

// WriteCSV writes a header and rows as RFC 4180 CSV (CRLF line ends, fields quoted when they
// hold a comma, a quote or a line break). A text cell a spreadsheet would read as a formula
// (starting with =, +, -, @, a tab or a carriage return) is written behind a single quote,
// so opening a report never runs what someone typed into an alert's summary; numbers, such
// as -0.5, are written as they are.
func WriteCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, row := range rows {
		safe := make([]string, len(row))
		for i, cell := range row {
			safe[i] = GuardCell(cell)
		}
		if err := cw.Write(safe); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// GuardCell defuses a cell a spreadsheet would take for a formula.
func GuardCell(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(cell, 64); err == nil && cell[0] != '\t' && cell[0] != '\r' {
			return cell
		}
		return "'" + cell
	}
	return cell
}
