<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * The shared breaker store file is not a tenantml store (wrong magic, version or size).
 *
 * Native status TML_STATUS_STORE_CORRUPT (203).
 */
class StoreCorruptException extends TenantMlException
{
}
