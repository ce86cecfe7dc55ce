/*
 * args.c: the command line: the global options (anywhere) and each
 * subcommand's own options and positional arguments.
 */

#ifndef RUNSCTL_ARGS_H
#define RUNSCTL_ARGS_H

#include "runsctl/runsctl.h"

/* the options every subcommand accepts */
struct global_opts {
    const char *url;       /* --url, NULL when not given */
    int         json;      /* --json */
    int         help;      /* -h, --help */
    int         version;   /* --version */
};

/* the global options before the subcommand: returns the index in argv of
   the first argument that is not one (argc when there is none), or -1
   after reporting a usage error */
int args_leading(int argc, char **argv, struct global_opts *g);

/* the arguments after the subcommand's name: cmd's options and the
   global ones in any order, "--" ending options, "-" a positional
   argument.  RC_OK, RC_USAGE (reported) or RC_FAIL (out of memory);
   on RC_OK args_free() frees what a holds */
int args_parse(const struct command *cmd, int argc, char **argv,
               struct args *a, struct global_opts *g);

void args_free(struct args *a);

#endif
