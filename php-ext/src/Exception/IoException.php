<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * A file-system operation failed (e.g. the shared breaker store could not be created or mapped).
 *
 * Native status TML_STATUS_IO (4).
 */
class IoException extends TenantMlException
{
}
