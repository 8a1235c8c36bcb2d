/*
 * server_options.h - natsim-server's command line, spelled as nats-server
 * spells it.
 *
 * Called by server_main.c. Pure: it reads argv and prints nothing; the
 * caller prints the error and the usage and exits 2.
 *
 * nats-server parses its flags with Go's flag package (main.go,
 * server/opts.go ConfigureOptions), and so does this parser, rule for rule:
 * -name and --name are the same flag; a value is "-p 4222" or "-p=4222";
 * a boolean takes no separate value ("-D", "-D=false"); integers may be
 * written 0x1F or 017 as strconv.ParseInt(s, 0, 64) reads them; parsing
 * stops at "--" or at the first argument that is not a flag; the words
 * "version" and "help" may follow the flags. Flags override the
 * configuration file (server_settings_merge).
 */
#ifndef NATSIM_BROKER_SERVER_OPTIONS_H
#define NATSIM_BROKER_SERVER_OPTIONS_H

#include <glib.h>
#include <stdbool.h>

#include "broker/server_config.h"

typedef enum ServerOptionsAction {
	SERVER_OPTIONS_RUN = 0, /* start the server (or check the config, -t) */
	SERVER_OPTIONS_HELP,    /* -h: print the usage, exit 0 */
	SERVER_OPTIONS_VERSION, /* -v: print the version, exit 0 */
} ServerOptionsAction;

typedef struct ServerOptions {
	ServerOptionsAction action;
	bool check_config;       /* -t: check the configuration file and exit */
	char *config_file;       /* -c, or NULL */
	ServerSettings settings; /* what the flags say; settings.set tells which */
} ServerOptions;

/* Parses argv[1..argc). On a bad flag returns false with *error set to a
 * one-line message (the caller prints it with the usage, and exits 2);
 * options then need server_options_clear all the same. */
bool server_options_parse(ServerOptions *options, int argc, char *const *argv, GError **error);
/* Frees what parse filled in (NULL-safe). */
void server_options_clear(ServerOptions *options);

/* The usage text, nats-server's layout, ending in a new line. */
const char *server_options_usage(void);

#endif
