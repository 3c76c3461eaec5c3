<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * A handle or out-pointer passed to the library was NULL; from PHP this means a freed handle was used.
 *
 * Native status TML_STATUS_NULL_POINTER (2).
 */
class NullPointerException extends TenantMlException
{
}
