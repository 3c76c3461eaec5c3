<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * An argument was out of range or malformed (e.g. an empty or over-long breaker name).
 *
 * Native status TML_STATUS_INVALID_ARGUMENT (1).
 */
class InvalidArgumentException extends TenantMlException
{
}
