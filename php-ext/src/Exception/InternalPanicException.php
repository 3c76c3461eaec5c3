<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * The library caught a Rust panic at the C boundary; this is a bug in tenantml.
 *
 * Native status TML_STATUS_INTERNAL_PANIC (900).
 */
class InternalPanicException extends TenantMlException
{
}
