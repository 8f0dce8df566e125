#include "app/cli.hpp"

int main(int argc, char** argv) { return redflag::app::run_cli(argc, argv); }
