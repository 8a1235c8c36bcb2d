/* broker/js/consumer.c - being written (see broker/js/js.h for its part). */
#include "broker/js/js.h"
