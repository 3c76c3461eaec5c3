<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * Every slot of the breaker store is in use; open the shared store with a larger capacity.
 *
 * Native status TML_STATUS_STORE_FULL (202).
 */
class StoreFullException extends TenantMlException
{
}
