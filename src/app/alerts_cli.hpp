// The `amtool`-like commands, talking to a running service's management API
// (README "Acting on alerts from a terminal"):
//
//   redflag alerts [--state S] [--csm E] [--rule R] [--account A] [--json]
//   redflag ack ID [--comment C] [--by WHO]
//   redflag snooze ID --for 7d [--wake-if EXPR] [--comment C] [--by WHO]
//   redflag silence add [--rule R] [--account A] (--until T | --for D) --reason TEXT [--by WHO]
//   redflag silence list [--json]
//   redflag silence expire ID
//   redflag report weekly [--csm EMAIL] [--format text|html|json]
//   redflag report account ID [--days 30] [--format text|json]
//
// Every command takes --url (default http://127.0.0.1:8080) and sends
// `Authorization: Bearer $REDFLAG_TOKEN` when that is set. WHO defaults to $USER.
// Exit codes: 0 done; 1 the service refused (its message is printed, with the HTTP
// status) or could not be reached; 2 a usage error found before asking.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

namespace redflag::app {

struct remote_options {
    std::string url = "http://127.0.0.1:8080";
    std::string token;  // $REDFLAG_TOKEN
    std::string by;     // who acts: --by, else $USER
    bool json = false;  // print the service's JSON as it came
};

struct alert_query {
    std::string state, csm, rule, account;
};
int run_alerts_list(const remote_options& remote, const alert_query& query, std::ostream& out, std::ostream& err);
int run_ack(const remote_options& remote, const std::string& id, const std::string& comment, std::ostream& out,
            std::ostream& err);
int run_snooze(const remote_options& remote, const std::string& id, const std::string& length,
               const std::string& wake_if, const std::string& comment, std::ostream& out, std::ostream& err);

struct silence_request {
    std::string rule, account, until, length, reason;
};
int run_silence_add(const remote_options& remote, const silence_request& request, std::ostream& out, std::ostream& err);
int run_silence_list(const remote_options& remote, std::ostream& out, std::ostream& err);
int run_silence_expire(const remote_options& remote, const std::string& id, std::ostream& out, std::ostream& err);

// Prints the weekly report as the service renders it (GET /v1/reports/weekly: the
// service builds it from its state now; report/render.hpp lays it out).
int run_report_weekly(const remote_options& remote, const std::string& csm, const std::string& format,
                      std::ostream& out, std::ostream& err);
// Prints one account's daily health next to its activities and alerts (GET
// /v1/reports/account/ID: "health development vs our actions").
int run_report_account(const remote_options& remote, const std::string& id, int days, const std::string& format,
                       std::ostream& out, std::ostream& err);

}  // namespace redflag::app
