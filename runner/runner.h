/* `airlock runner --job DIR`: one job, executed by the server in a fresh process. */
#pragma once

int al_runner_main(int argc, char **argv);
