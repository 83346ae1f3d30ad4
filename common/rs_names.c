#include "rs_names.h"

#include <stdlib.h>

void
rs_names_free(char **names, int count)
{
	if (names == NULL)
		return;
	for (int i = 0; i < count; i++)
		free(names[i]);
	free(names);
}
