// `redflag import FILE --url URL [--type account|user] [--map COLUMN=FIELD ...] [--key COLUMN]`:
// loads a book of accounts (or users) from a CRM export into a running service.
//
// The file is CSV with a header line (RFC 4180: quoted fields, "" for a quote, CRLF or LF,
// line breaks inside quotes). Each column goes to the event field its header names,
// after --map (COLUMN=FIELD; FIELD "-" drops the column; "attributes.KEY" goes into
// `attributes`) or else the header in snake_case when that is a field of the type
// ("Seats" -> seats, "CSM Email" -> csm_email); other columns are reported and left out.
// Cells are converted to the field's kind (integers, numbers, booleans, dates as
// YYYY-MM-DD or RFC 3339, lists split on ';'); an empty cell leaves the field out.
//
// Every row is validated locally first, by the same validator the service uses; each bad
// row is reported as FILE:LINE:COLUMN: message and nothing is sent when any row is bad.
// Then the events are POSTed to URL/v1/events in batches (Authorization: Bearer
// $REDFLAG_TOKEN when set). A re-run is idempotent: each event's id is derived from the
// row's content ("h:" + SHA-256, as the service derives it), or is "import:TYPE:KEY" with
// --key, so an unchanged row is a duplicate.
//
// Exit: 0 done, 1 bad rows or a refused batch, 2 usage or unreadable file.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace redflag::app {

// One CSV cell and where it starts (1-based line and column of its first character).
struct csv_cell {
    std::string text;
    std::size_t line = 0;
    std::size_t column = 0;
};

struct csv_result {
    std::vector<std::vector<csv_cell>> rows;  // the header line first
    std::string error;                        // "LINE:COLUMN: message" when the file is not CSV
};

// Parses RFC 4180 CSV. Blank lines are skipped.
csv_result parse_csv(const std::string& text);

struct import_options {
    std::string file;
    std::string url;                         // the service: http://127.0.0.1:8080
    std::string type = "account";            // account | user
    std::map<std::string, std::string> map;  // column -> field
    std::string key;                         // a column whose value identifies the row
    std::size_t batch = 1000;
    bool dry_run = false;                    // validate and print the events, send nothing
};

int run_import(const import_options& options, std::ostream& out, std::ostream& err);

}  // namespace redflag::app
