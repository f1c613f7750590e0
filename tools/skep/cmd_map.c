/* skep map: maps of ELF objects.
 *
 *   skep map list OBJ.o [-j]
 *
 * lists the maps an object defines (BTF-defined, legacy "maps" section, global data)
 * as the loader reads them, without creating them. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "util.h"
#include "skep/object.h"

#define USAGE "usage: skep map list OBJ.o [-j]"

static void print_map(const skep_object_map *m, int json, int first, const char *indent)
{
	if (json) {
		printf("%s{\"name\": \"%s\", \"type\": \"%s\", \"key_size\": %u, \"value_size\": %u, "
		       "\"max_entries\": %u, \"flags\": %u, \"section\": \"%s\", \"pinning\": %u",
		       first ? "" : ", ", skep_object_map_name(m), map_type_str(skep_object_map_type(m)),
		       skep_object_map_key_size(m), skep_object_map_value_size(m), skep_object_map_max_entries(m),
		       skep_object_map_flags(m), skep_object_map_section(m), skep_object_map_pinning(m));
		if (skep_object_map_inner(m)) {
			printf(", \"inner\": ");
			print_map(skep_object_map_inner(m), 1, 1, "");
		}
		printf("}");
		return;
	}
	printf("%s%s: %s  key %uB  value %uB  max_entries %u  flags 0x%x", indent, skep_object_map_name(m),
	       map_type_str(skep_object_map_type(m)), skep_object_map_key_size(m), skep_object_map_value_size(m),
	       skep_object_map_max_entries(m), skep_object_map_flags(m));
	if (*indent == 0)
		printf("  section %s", skep_object_map_section(m));
	if (skep_object_map_pinning(m))
		printf("  pinned by name");
	printf("\n");
	if (skep_object_map_inner(m))
		print_map(skep_object_map_inner(m), 0, 0, "\tinner ");
}

static int cmd_list(int argc, char **argv)
{
	const char *file = NULL;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf(USAGE "\n\nList the maps an ELF object defines (nothing is created).\n");
			return 0;
		} else if (argv[i][0] == '-' || file) {
			fprintf(stderr, "skep map list: unexpected argument '%s'\n" USAGE "\n", argv[i]);
			return 2;
		} else {
			file = argv[i];
		}
	}
	if (!file) {
		fprintf(stderr, "skep map list: no object file\n" USAGE "\n");
		return 2;
	}
	char err[512];
	skep_object *obj = open_object(file, err, sizeof err);
	if (!obj) {
		fprintf(stderr, "skep map list: %s\n", err);
		return 1;
	}
	if (json)
		printf("[");
	int first = 1;
	for (skep_object_map *m = skep_object_next_map(obj, NULL); m; m = skep_object_next_map(obj, m), first = 0)
		print_map(m, json, first, "");
	if (json)
		printf("]\n");
	skep_object_close(obj);
	return 0;
}

int cmd_map(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: skep map list OBJ.o [-j]   list the maps of an ELF object\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	fprintf(stderr, "skep map: unknown subcommand '%s'\n", argv[1]);
	return 2;
}
