#include "rs_err.h"

const char *
rs_strerror(int err)
{
	switch (err) {
	case RS_OK: return "ok";
	case RS_EINVAL: return "invalid argument";
	case RS_ENOMEM: return "out of memory";
	case RS_ENOTFOUND: return "not found";
	case RS_EEXIST: return "already exists";
	case RS_ETIMEDOUT: return "timed out";
	case RS_ECONN: return "connection failed";
	case RS_EPROTO: return "protocol error";
	case RS_EDB: return "database error";
	case RS_EMQ: return "message broker error";
	case RS_EZK: return "zookeeper error";
	case RS_ENNG: return "nng error";
	case RS_ECLOSED: return "closed";
	case RS_EIO: return "i/o error";
	case RS_EAGAIN: return "try again";
	case RS_ESTATE: return "invalid state";
	default: return "unknown error";
	}
}
