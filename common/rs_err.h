/* Error codes shared by every RideShare-C module. Fallible functions return
 * 0 (RS_OK) or one of these; rs_strerror() names them for logs. */
#ifndef RS_ERR_H
#define RS_ERR_H

enum rs_err {
	RS_OK = 0,
	RS_EINVAL, /* bad argument or malformed input */
	RS_ENOMEM, /* allocation failed */
	RS_ENOTFOUND, /* no such object (znode, row, key) */
	RS_EEXIST, /* object exists already */
	RS_ETIMEDOUT, /* deadline passed */
	RS_ECONN, /* connection lost or refused; reconnect and retry */
	RS_EPROTO, /* peer sent something we cannot decode */
	RS_EDB, /* PostgreSQL error */
	RS_EMQ, /* RabbitMQ error (channel closed, nack, ...) */
	RS_EZK, /* ZooKeeper error */
	RS_ENNG, /* nng error */
	RS_ECLOSED, /* object shut down */
	RS_EIO, /* OS-level I/O error */
	RS_EAGAIN, /* try again later (e.g. version conflict) */
	RS_ESTATE, /* operation not valid in the current state */
};

/* Returns a static, human-readable name for err (never NULL). */
const char *rs_strerror(int err);

#endif
