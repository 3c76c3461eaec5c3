<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * libtenantml.so (or its C header) could not be found or loaded. The message
 * names every path that was tried.
 */
class LibraryNotFoundException extends TenantMlException
{
}
