/*
 * args.c: a small long-option parser.  Unlike getopt_long() it keeps no
 * state between calls, accepts the global options anywhere and treats a
 * lone "-" (the prompt read from stdin) as an argument.
 */

#include "runsctl/args.h"

#include <stdlib.h>
#include <string.h>

enum { G_URL, G_JSON, G_HELP, G_VERSION, G_COUNT };

static const struct opt_spec global_spec[G_COUNT] = {
    [G_URL] = { "url", 1 },
    [G_JSON] = { "json", 0 },
    [G_HELP] = { "help", 0 },
    [G_VERSION] = { "version", 0 },
};

/* index of the option called name (n bytes) in spec, or -1 */
static int
find_opt(const struct opt_spec *spec, size_t nspec, const char *name,
         size_t n)
{
    for (size_t i = 0; i < nspec; i++) {
        if (strlen(spec[i].name) == n && strncmp(spec[i].name, name, n) == 0) {
            return (int) i;
        }
    }
    return -1;
}

static void
set_global(struct global_opts *g, int which, const char *value)
{
    switch (which) {
    case G_URL:
        g->url = value;
        break;
    case G_JSON:
        g->json = 1;
        break;
    case G_HELP:
        g->help = 1;
        break;
    default:
        g->version = 1;
        break;
    }
}

/* a short option "-x" of cmd at argv[*i] (its value, if it takes one,
   the next argument); RC_OK or RC_USAGE (reported) */
static int
short_option(const struct command *cmd, int argc, char **argv, int *i,
             struct args *a)
{
    const char *arg = argv[*i], *where = cmd ? cmd->name : NULL;
    size_t      k;

    for (k = 0; cmd != NULL && arg[2] == '\0' && k < cmd->nopts; k++) {
        if (cmd->opts[k].short_name != 0 && cmd->opts[k].short_name == arg[1]) {
            break;
        }
    }
    if (cmd == NULL || arg[2] != '\0' || k == cmd->nopts) {
        return ctl_usage_error(where, "unknown option '%s'", arg);
    }
    if (cmd->opts[k].has_arg) {
        if (*i + 1 >= argc) {
            return ctl_usage_error(where, "option '%s' needs a value", arg);
        }
        a->value[k] = argv[++(*i)];
    } else {
        a->value[k] = "";
    }
    a->given[k] = 1;
    a->all[a->nall].opt = k;
    a->all[a->nall++].value = a->value[k];
    (*i)++;
    return RC_OK;
}

/*
 * One option at argv[*i] (it starts with '-' and is not "-" or "--").
 * cmd may be NULL (before the subcommand).  Advances *i past the option
 * and its value.  RC_OK or RC_USAGE (reported).
 */
static int
one_option(const struct command *cmd, int argc, char **argv, int *i,
           struct args *a, struct global_opts *g)
{
    const char            *arg = argv[*i], *name, *eq, *value = NULL;
    const char            *where = cmd ? cmd->name : NULL;
    const struct opt_spec *spec;
    size_t                 n;
    int                    k, global;

    if (strcmp(arg, "-h") == 0) {
        g->help = 1;
        (*i)++;
        return RC_OK;
    }
    if (arg[1] != '-') {
        return short_option(cmd, argc, argv, i, a);
    }
    name = arg + 2;
    eq = strchr(name, '=');
    n = eq ? (size_t) (eq - name) : strlen(name);

    global = 1;
    spec = global_spec;
    k = find_opt(global_spec, G_COUNT, name, n);
    if (k < 0 && cmd != NULL) {
        global = 0;
        spec = cmd->opts;
        k = find_opt(cmd->opts, cmd->nopts, name, n);
    }
    if (k < 0) {
        return ctl_usage_error(where, "unknown option '--%.*s'", (int) n,
                               name);
    }

    if (spec[k].has_arg) {
        if (eq != NULL) {
            value = eq + 1;
        } else if (*i + 1 < argc) {
            value = argv[++(*i)];
        } else {
            return ctl_usage_error(where, "option '--%s' needs a value",
                                   spec[k].name);
        }
    } else if (eq != NULL) {
        return ctl_usage_error(where, "option '--%s' takes no value",
                               spec[k].name);
    }
    (*i)++;

    if (global) {
        set_global(g, k, value);
    } else {
        a->given[k] = 1;
        a->value[k] = value ? value : "";
        a->all[a->nall].opt = (size_t) k;
        a->all[a->nall++].value = a->value[k];
    }
    return RC_OK;
}

int
args_leading(int argc, char **argv, struct global_opts *g)
{
    int i = 1;

    while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "-") != 0) {
        if (strcmp(argv[i], "--") == 0) {
            return i + 1;
        }
        if (one_option(NULL, argc, argv, &i, NULL, g) != RC_OK) {
            return -1;
        }
    }
    return i;
}

int
args_parse(const struct command *cmd, int argc, char **argv,
           struct args *a, struct global_opts *g)
{
    int i = 0, options = 1;

    memset(a, 0, sizeof(*a));
    a->pos = calloc((size_t) argc + 1, sizeof(char *));
    a->all = calloc((size_t) argc + 1, sizeof(struct opt_given));
    if (a->pos == NULL || a->all == NULL) {
        ctl_error("out of memory");
        args_free(a);
        return RC_FAIL;
    }
    while (i < argc) {
        const char *arg = argv[i];

        if (options && strcmp(arg, "--") == 0) {
            options = 0;
            i++;
        } else if (options && arg[0] == '-' && arg[1] != '\0') {
            if (one_option(cmd, argc, argv, &i, a, g) != RC_OK) {
                args_free(a);
                return RC_USAGE;
            }
        } else {
            a->pos[a->npos++] = argv[i++];
        }
    }
    return RC_OK;
}

void
args_free(struct args *a)
{
    free(a->pos);
    free(a->all);
    a->pos = NULL;
    a->all = NULL;
    a->npos = a->nall = 0;
}
